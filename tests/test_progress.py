"""`lsnet.progress`: plain periodic lines when stderr is not a terminal, steps with the time so far."""
import time

from lsnet.progress import LineProgress, Steps, progress


def test_off_a_terminal_progress_is_plain_lines_at_most_every_interval_and_once_at_the_end(capsys):
    bar = progress(range(6), desc="predict", unit="img", mininterval=0.05)  # capsys: stderr is no terminal
    assert isinstance(bar, LineProgress)
    for _ in bar:
        time.sleep(0.03)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and 2 <= len(lines) <= 4  # 0.18 s at one line per ≥ 0.05 s, and the last
    assert lines[-1].startswith("predict: 6/6 [") and "img/s" in lines[-1]


def test_a_resumed_count_shows_the_total_and_the_postfix(capsys):
    bar = progress(total=10, initial=4, desc="train", unit="it", mininterval=3600)
    for _ in range(6):
        bar.update(1)
        bar.set_postfix(epoch=2, loss="0.500")
    bar.close()
    (line,) = capsys.readouterr().err.splitlines()  # an hour between lines: only the closing one
    assert line.startswith("train: 10/10 [") and line.endswith(", epoch=2, loss=0.500]")


def test_steps_print_each_step_with_the_time_so_far_and_remind_while_one_lasts(capsys):
    with Steps("export onnx", interval=0.2) as steps:
        steps("tracing the network")
        time.sleep(0.7)
        steps("simplifying")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "export onnx: tracing the network (0 s)"
    assert "export onnx: still tracing the network (" in lines[1] and lines[-1].startswith("export onnx: simplifying (")
    assert 2 <= sum("still" in line for line in lines) <= 4
