set terminal svg size 900,540 dynamic font "sans,11"
set output '/work/main/out-bench/bench/bench.svg'
set title 'pcie-testdev: copy throughput in a guest, by IOMMU configuration (6.1.0-56-amd64, TCG)'
set xlabel 'copy size (bytes)'; set ylabel 'MB/s'; set logscale x 2; set logscale y
set key outside right; set grid
plot '-' with linespoints title 'none streaming', '-' with linespoints title 'none coherent' dashtype 2, '-' with linespoints title 'intel streaming', '-' with linespoints title 'intel coherent' dashtype 2, '-' with linespoints title 'intel-strict streaming', '-' with linespoints title 'intel-strict coherent' dashtype 2, '-' with linespoints title 'intel-pt streaming', '-' with linespoints title 'intel-pt coherent' dashtype 2, '-' with linespoints title 'intel-off streaming', '-' with linespoints title 'intel-off coherent' dashtype 2, '-' with linespoints title 'amd streaming', '-' with linespoints title 'amd coherent' dashtype 2, '-' with linespoints title 'swiotlb streaming', '-' with linespoints title 'swiotlb coherent' dashtype 2
4096 240.3
65536 3345
1048576 10850.8
e
4096 261.6
65536 3745.3
1048576 8222
e
4096 61.1
65536 544.3
1048576 1314.5
e
4096 119.4
65536 1361.3
1048576 2370.1
e
4096 49.9
65536 430.5
1048576 1310.8
e
4096 87.4
65536 1164.5
1048576 1241.9
e
4096 190.6
65536 2822.5
1048576 8968.5
e
4096 199.6
65536 3004
1048576 7203.7
e
4096 176.6
65536 1297.2
1048576 6443.3
e
4096 176.2
65536 2858.6
1048576 7583.4
e
4096 62.9
65536 817.4
1048576 3537
e
4096 124.1
65536 1803.9
1048576 7410.2
e
4096 56.8
65536 405.4
e
4096 86.3
65536 1236.2
1048576 7239.6
e
