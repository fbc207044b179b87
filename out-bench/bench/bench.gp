set terminal svg size 900,540 dynamic font "sans,11"
set output '/work/main/out-bench/bench/bench.svg'
set title 'pcie-testdev: copy throughput in a guest, by IOMMU configuration (6.1.0-56-amd64, TCG)'
set xlabel 'copy size (bytes)'; set ylabel 'MB/s'; set logscale x 2; set logscale y
set key outside right; set grid
plot '-' with linespoints title 'none streaming', '-' with linespoints title 'none coherent' dashtype 2, '-' with linespoints title 'intel streaming', '-' with linespoints title 'intel coherent' dashtype 2, '-' with linespoints title 'intel-strict streaming', '-' with linespoints title 'intel-strict coherent' dashtype 2
4096 90.9
65536 2619.3
1048576 3487.4
e
4096 94.9
65536 1318.3
1048576 8879.2
e
4096 72.3
65536 772.1
1048576 1252.2
e
4096 110.5
65536 1461.2
1048576 1439.2
e
4096 111.4
65536 1115.2
1048576 1236.2
e
4096 197.4
65536 2282.6
1048576 2667.9
e
