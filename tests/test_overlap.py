"""Decoding ahead and encoding behind (io/overlap.py): order, errors and stopping early."""

import threading
import time

import pytest

from inteleq_rt.io.overlap import QUEUED, Behind, ahead


def _threads_named(name: str) -> int:
    return sum(thread.name == name for thread in threading.enumerate())


def test_ahead_gives_every_item_in_order_and_leaves_no_thread():
    assert list(ahead(lambda: iter(range(100)), "t-order")) == list(range(100))
    assert _threads_named("t-order") == 0


def test_ahead_raises_the_producers_error_after_what_it_made():
    def items():
        yield 1
        yield 2
        raise ValueError("corrupt near the end")

    got = []
    with pytest.raises(ValueError, match="corrupt near the end"):
        for item in ahead(items, "t-error"):
            got.append(item)
    assert got == [1, 2]


def test_a_caller_stopping_early_stops_the_producer():
    made = []

    def endless():
        while True:
            made.append(len(made))
            yield made[-1]

    blocks = ahead(endless, "t-early")
    assert next(blocks) == 0
    blocks.close()  # as a break or an exception in the caller does
    assert _threads_named("t-early") == 0
    count = len(made)
    time.sleep(0.2)
    assert len(made) == count <= QUEUED + 2  # it stopped, no further than the queue ahead


def test_behind_consumes_every_item_in_order_before_leaving():
    seen = []
    with Behind(seen.append, "t-behind") as consumer:
        for item in range(100):
            consumer.put(item)
    assert seen == list(range(100))
    assert _threads_named("t-behind") == 0


def test_a_consumers_error_reaches_the_caller_at_its_next_put():
    def consume(item):
        if item == 3:
            raise OSError("no space left on the device")

    with pytest.raises(OSError, match="no space left"):
        with Behind(consume, "t-full") as consumer:
            for item in range(1000):
                consumer.put(item)
                time.sleep(0.001)
    assert _threads_named("t-full") == 0


def test_a_consumers_error_on_the_last_item_is_raised_on_leaving():
    def consume(item):
        raise OSError("the last write failed")

    with pytest.raises(OSError, match="the last write failed"):
        with Behind(consume, "t-last") as consumer:
            consumer.put(1)


def test_a_caller_leaving_on_an_error_does_not_consume_the_rest():
    seen, gate = [], threading.Event()

    def consume(item):
        gate.wait(5.0)  # the first item is still being consumed when the caller leaves
        seen.append(item)

    threading.Timer(0.3, gate.set).start()
    with pytest.raises(KeyboardInterrupt):
        with Behind(consume, "t-interrupted") as consumer:
            for item in range(QUEUED):
                consumer.put(item)
            raise KeyboardInterrupt
    assert _threads_named("t-interrupted") == 0
    assert seen == [0]  # the items still queued were dropped
