set terminal pngcairo size 960,540 font ',10' noenhanced
set logscale xy
set grid
set xlabel 'percentile'
set ylabel 'latency, µs (send → receive)'
set key top left
set xtics ('50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, 'max' 100000)
set output 'latency-w4-durable-1q-64b.png'
set title 'w4-durable 1Q 64B: end-to-end latency by percentile'
plot 'lat-w4-durable-1q-64b--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w4-durable-1q-64b--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w4-durable-1q-64b--redis-streams-fsync.dat' using 1:2 with linespoints title 'redis streams fsync'
set output 'latency-w4-durable-1q-1kib.png'
set title 'w4-durable 1Q 1KiB: end-to-end latency by percentile'
plot 'lat-w4-durable-1q-1kib--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w4-durable-1q-1kib--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w4-durable-1q-1kib--redis-streams-fsync.dat' using 1:2 with linespoints title 'redis streams fsync'
set output 'latency-w4-durable-10q-64b.png'
set title 'w4-durable 10Q 64B: end-to-end latency by percentile'
plot 'lat-w4-durable-10q-64b--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w4-durable-10q-64b--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w4-durable-10q-64b--redis-streams-fsync.dat' using 1:2 with linespoints title 'redis streams fsync'
set output 'latency-w4-durable-10q-1kib.png'
set title 'w4-durable 10Q 1KiB: end-to-end latency by percentile'
plot 'lat-w4-durable-10q-1kib--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w4-durable-10q-1kib--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w4-durable-10q-1kib--redis-streams-fsync.dat' using 1:2 with linespoints title 'redis streams fsync'
unset logscale
set logscale y
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -30
set key off
set xlabel ''
set yrange [100:*]
set output 'throughput-w4-durable-1q-64b.png'
set title 'w4-durable 1Q 64B: ACKed msg/s'
set ylabel 'msg/s (log)'
plot 'tput-w4-durable-1q-64b.dat' using 0:2:xtic(1) with boxes
