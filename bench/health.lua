-- GET /health: the trivial route of the same server, for comparison.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
