set terminal pngcairo size 960,540 font ',10' noenhanced
set logscale xy
set grid
set xlabel 'percentile'
set ylabel 'latency, µs (send → receive)'
set key top left
set xtics ('50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, 'max' 100000)
set output 'latency-w1-latency-10k-s.png'
set title 'w1-latency 10k/s: end-to-end latency by percentile'
plot 'lat-w1-latency-10k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w1-latency-10k-s--sluice-udp-busy.dat' using 1:2 with linespoints title 'sluice udp busy', 'lat-w1-latency-10k-s--sluice-veth-udp.dat' using 1:2 with linespoints title 'sluice veth udp', 'lat-w1-latency-10k-s--sluice-veth-af-xdp.dat' using 1:2 with linespoints title 'sluice veth af_xdp', 'lat-w1-latency-10k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-w1-latency-10k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-w1-latency-10k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w1-latency-10k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-w1-latency-50k-s.png'
set title 'w1-latency 50k/s: end-to-end latency by percentile'
plot 'lat-w1-latency-50k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w1-latency-50k-s--sluice-udp-busy.dat' using 1:2 with linespoints title 'sluice udp busy', 'lat-w1-latency-50k-s--sluice-veth-udp.dat' using 1:2 with linespoints title 'sluice veth udp', 'lat-w1-latency-50k-s--sluice-veth-af-xdp.dat' using 1:2 with linespoints title 'sluice veth af_xdp', 'lat-w1-latency-50k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-w1-latency-50k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-w1-latency-50k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w1-latency-50k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-w2-throughput-window-1024.png'
set title 'w2-throughput window 1024: end-to-end latency by percentile'
plot 'lat-w2-throughput-window-1024--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w2-throughput-window-1024--sluice-udp-busy.dat' using 1:2 with linespoints title 'sluice udp busy', 'lat-w2-throughput-window-1024--sluice-veth-udp.dat' using 1:2 with linespoints title 'sluice veth udp', 'lat-w2-throughput-window-1024--sluice-veth-af-xdp.dat' using 1:2 with linespoints title 'sluice veth af_xdp', 'lat-w2-throughput-window-1024--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-w2-throughput-window-1024--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-w2-throughput-window-1024--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w2-throughput-window-1024--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-w2-throughput-window-1024-poll-per-64-posts.png'
set title 'w2-throughput window 1024, poll per 64 posts: end-to-end latency by percentile'
plot 'lat-w2-throughput-window-1024-poll-per-64-posts--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w2-throughput-window-1024-poll-per-64-posts--sluice-udp-busy.dat' using 1:2 with linespoints title 'sluice udp busy', 'lat-w2-throughput-window-1024-poll-per-64-posts--sluice-veth-udp.dat' using 1:2 with linespoints title 'sluice veth udp', 'lat-w2-throughput-window-1024-poll-per-64-posts--sluice-veth-af-xdp.dat' using 1:2 with linespoints title 'sluice veth af_xdp', 'lat-w2-throughput-window-1024-poll-per-64-posts--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-w2-throughput-window-1024-poll-per-64-posts--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-w2-throughput-window-1024-poll-per-64-posts--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w2-throughput-window-1024-poll-per-64-posts--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-w3-fanout5-fanout-20k-s.png'
set title 'w3-fanout5 fanout 20k/s: end-to-end latency by percentile'
plot 'lat-w3-fanout5-fanout-20k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w3-fanout5-fanout-20k-s--sluice-udp-busy.dat' using 1:2 with linespoints title 'sluice udp busy', 'lat-w3-fanout5-fanout-20k-s--sluice-veth-udp.dat' using 1:2 with linespoints title 'sluice veth udp', 'lat-w3-fanout5-fanout-20k-s--sluice-veth-af-xdp.dat' using 1:2 with linespoints title 'sluice veth af_xdp', 'lat-w3-fanout5-fanout-20k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-w3-fanout5-fanout-20k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-w3-fanout5-fanout-20k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w3-fanout5-fanout-20k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-w3-fanout5-broadcast-20k-s.png'
set title 'w3-fanout5 broadcast 20k/s: end-to-end latency by percentile'
plot 'lat-w3-fanout5-broadcast-20k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-w3-fanout5-broadcast-20k-s--sluice-udp-busy.dat' using 1:2 with linespoints title 'sluice udp busy', 'lat-w3-fanout5-broadcast-20k-s--sluice-veth-udp.dat' using 1:2 with linespoints title 'sluice veth udp', 'lat-w3-fanout5-broadcast-20k-s--sluice-veth-af-xdp.dat' using 1:2 with linespoints title 'sluice veth af_xdp', 'lat-w3-fanout5-broadcast-20k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-w3-fanout5-broadcast-20k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-w3-fanout5-broadcast-20k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-w3-fanout5-broadcast-20k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
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
set output 'latency-blazingmq-table-priority-1q-1p-1c-60k-s.png'
set title 'blazingmq-table priority 1Q,1P,1C 60k/s: end-to-end latency by percentile'
plot 'lat-blazingmq-table-priority-1q-1p-1c-60k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-blazingmq-table-priority-1q-1p-1c-60k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-blazingmq-table-priority-1q-1p-1c-60k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-blazingmq-table-priority-1q-1p-1c-60k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-blazingmq-table-priority-1q-1p-1c-60k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-blazingmq-table-priority-10q-10p-10c-120k-s.png'
set title 'blazingmq-table priority 10Q,10P,10C 120k/s: end-to-end latency by percentile'
plot 'lat-blazingmq-table-priority-10q-10p-10c-120k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-blazingmq-table-priority-10q-10p-10c-120k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-blazingmq-table-priority-10q-10p-10c-120k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-blazingmq-table-priority-10q-10p-10c-120k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-blazingmq-table-priority-10q-10p-10c-120k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-blazingmq-table-fan-out-1q-1p-5c-30k-s.png'
set title 'blazingmq-table fan-out 1Q,1P,5C 30k/s: end-to-end latency by percentile'
plot 'lat-blazingmq-table-fan-out-1q-1p-5c-30k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-blazingmq-table-fan-out-1q-1p-5c-30k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-blazingmq-table-fan-out-1q-1p-5c-30k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-blazingmq-table-fan-out-1q-1p-5c-30k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-blazingmq-table-fan-out-1q-1p-5c-30k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
set output 'latency-blazingmq-table-broadcast-1q-1p-5c-110k-s.png'
set title 'blazingmq-table broadcast 1Q,1P,5C 110k/s: end-to-end latency by percentile'
plot 'lat-blazingmq-table-broadcast-1q-1p-5c-110k-s--sluice-udp-adaptive.dat' using 1:2 with linespoints title 'sluice udp adaptive', 'lat-blazingmq-table-broadcast-1q-1p-5c-110k-s--udp-floor.dat' using 1:2 with linespoints title 'udp floor', 'lat-blazingmq-table-broadcast-1q-1p-5c-110k-s--nats-core.dat' using 1:2 with linespoints title 'nats core', 'lat-blazingmq-table-broadcast-1q-1p-5c-110k-s--nats-jetstream.dat' using 1:2 with linespoints title 'nats jetstream', 'lat-blazingmq-table-broadcast-1q-1p-5c-110k-s--redis-streams.dat' using 1:2 with linespoints title 'redis streams'
unset logscale
set logscale y
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -30
set key off
set xlabel ''
set yrange [100:*]
set output 'throughput-w2-throughput-window-1024.png'
set title 'w2-throughput window 1024: delivered msg/s'
set ylabel 'msg/s (log)'
plot 'tput-w2-throughput-window-1024.dat' using 0:2:xtic(1) with boxes
set output 'throughput-w4-durable-1q-64b.png'
set title 'w4-durable 1Q 64B: ACKed msg/s'
set ylabel 'msg/s (log)'
plot 'tput-w4-durable-1q-64b.dat' using 0:2:xtic(1) with boxes
