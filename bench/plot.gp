# Median time against size, log-log, one line per method, from
# numabuf-bench's CSV.
#   gnuplot -e "csv='F.csv'; png='F.png'; title='...'; cycles='M ...';
#               allocs='M ...'; missing='...'" bench/plot.gp
# cycles, allocs: the methods with results, timed as a whole cycle and as
# the ALLOC ioctl alone; missing: the methods without any, named in a note.
if (!exists("csv")) csv = 'bench/results/6.1.csv'
if (!exists("png")) png = 'bench/results/6.1.png'
if (!exists("title")) title = 'numabuf-bench'
if (!exists("cycles")) cycles = 'numabuf-pool numabuf hugetlb-2m malloc-mlock dma-heap'
if (!exists("allocs")) allocs = 'ioctl-pool ioctl-general'
if (!exists("missing")) missing = ''

set terminal pngcairo enhanced size 1100,700 font ',10'
set output png
set datafile separator ','
set title title noenhanced
set logscale xy
set xlabel 'buffer size'
set ylabel 'median time (s)'
set format y '10^{%L}'
set xtics ('4K' 4096, '64K' 65536, '2M' 2097152, '4M' 4194304, \
	   '64M' 67108864, '256M' 268435456, '1G' 1073741824)
set grid xtics ytics mytics
set key outside right top noenhanced
set pointsize 1.2
if (missing ne '') set label 1 'no results: '.missing at screen 0.99, 0.03 right noenhanced

# Columns: 1 method, 2 size_bytes, 6 median_ns (empty when it did not run).
sel(m) = (strcol(1) eq m && strcol(6) ne '') ? column(6) / 1e9 : NaN

plot for [m in cycles] csv skip 1 using 2:(sel(m)) with linespoints lw 2 title m.' (cycle)', \
     for [m in allocs] csv skip 1 using 2:(sel(m)) with linespoints lw 2 dt 2 title m.' (ALLOC ioctl alone)'
