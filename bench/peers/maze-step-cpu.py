"""maze-step timed in process CPU seconds (bench/peers/run.sh maze-step-cpu).

The same workload as maze-step.py; time.process_time instead of time.perf_counter, so time spent
descheduled on a shared machine does not count. The Telos side is MazeStepCpuPeer. What was done to
make the step fast, and what was tried, is in maze-step.py's header.
"""
import importlib.util
import os
import time

spec = importlib.util.spec_from_file_location("maze_step", os.path.join(os.path.dirname(os.path.abspath(__file__)), "maze-step.py"))
maze_step = importlib.util.module_from_spec(spec)
spec.loader.exec_module(maze_step)

if __name__ == "__main__":
    maze_step.main(clock=time.process_time, unit="steps/cpu-s")
