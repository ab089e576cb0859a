"""The classifier process's status record, written by one process and read by another."""

import multiprocessing
import threading
import time
from multiprocessing import shared_memory
from types import SimpleNamespace

import numpy as np
import pytest

from inteleq_rt.engine.commands import CommandRecord
from inteleq_rt.engine.seqlock import PATIENCE_S, Seqlock
from inteleq_rt.genre.classifier import Decision
from inteleq_rt.genre.status import StatusRecord, status_dtype

GENRES = ("classical", "disco", "jazz")


def _decision(number: int) -> SimpleNamespace:
    """The classifier's public state after its ``number``-th decision: genre number % 3, sure of it."""
    genre = GENRES[number % 3]
    latest = Decision(float(number), genre, {g: float(g == genre) for g in GENRES}, 1.0)
    return SimpleNamespace(latest=latest, decided=number, unsure=0, call_seconds=[])


def _publish_many(name: str, count: int) -> None:
    memory = shared_memory.SharedMemory(name=name)
    record = StatusRecord(np.ndarray((), status_dtype(3), memory.buf), GENRES, GENRES)
    for number in range(1, count + 1):
        record.publish(_decision(number))
    del record
    memory.close()


@pytest.mark.slow
def test_a_reader_never_pairs_one_decisions_genre_with_anothers_probabilities():
    memory = shared_memory.SharedMemory(create=True, size=StatusRecord.size(3))
    try:
        record = StatusRecord(np.ndarray((), status_dtype(3), memory.buf), GENRES, GENRES)
        record.clear()
        writer = multiprocessing.get_context("spawn").Process(target=_publish_many, args=(memory.name, 300_000))
        writer.start()
        reads, torn = 0, 0
        while writer.is_alive() or not reads:
            latest = record.latest()
            if latest is not None:
                reads += 1
                number = int(latest.time_s)
                torn += latest.genre != GENRES[number % 3] or latest.probabilities[latest.genre] != 1.0
        writer.join()
        assert reads > 1000 and torn == 0
        del record
    finally:
        memory.close()
        memory.unlink()


def test_patience_runs_from_the_counters_last_move_not_from_the_first_look():
    """A writer that keeps starting writes (the counter odd at every look, but moving) is
    alive: it is waited for, not read half-written once the patience has passed."""
    lock, values = Seqlock(), np.array([0.0, 1.0])
    lock.begin()  # mid-write, the values half written

    def keep_writing() -> None:
        for _ in range(int(3 * PATIENCE_S / 0.005)):
            time.sleep(0.005)
            lock.cell[0] += 2.0  # a write ended and the next began between two looks
        values[1] = 0.0
        lock.end()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    started = time.monotonic()
    copied = lock.read(values.copy, PATIENCE_S)
    writer.join()
    assert copied[0] == copied[1] and time.monotonic() - started > 2 * PATIENCE_S


def test_a_writer_that_died_mid_write_neither_hangs_readers_nor_leaves_the_counter_odd():
    lock = Seqlock()
    values = np.arange(4.0)
    lock.begin()  # ... and the writer was killed here
    started = time.monotonic()
    assert np.array_equal(lock.read(values.copy, PATIENCE_S), values)  # as it stands, after a short wait
    assert time.monotonic() - started < PATIENCE_S + 0.5
    record = CommandRecord(3)
    record.fields["sequence"] += 1.0  # the classifier's process killed mid-post
    record.writer_gone()  # its supervisor, before starting a new one
    record.post(genre=2)
    assert CommandRecord.genre(record.read()) == 2
