set terminal svg size 900,540 dynamic font "sans,11"
set output '/work/main/out-bt/bench-run/bench/bench.svg'
set title 'pcie-testdev: copy throughput in a guest, by IOMMU configuration (6.1.0-56-amd64, TCG)'
set xlabel 'copy size (bytes)'; set ylabel 'MB/s'; set logscale x 2; set logscale y
set key outside right; set grid
plot '-' with linespoints title 'none streaming', '-' with linespoints title 'none coherent' dashtype 2, '-' with linespoints title 'intel-strict streaming', '-' with linespoints title 'intel-strict coherent' dashtype 2
4096 104.7
65536 2696.2
1048576 5704.5
e
4096 111.5
65536 1725.1
1048576 9070.3
e
4096 108
65536 968.4
1048576 2361.5
e
4096 184.6
65536 2173.4
1048576 3356.5
e
