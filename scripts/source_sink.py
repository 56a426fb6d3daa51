"""The frames of a fix nvdyn sink against the source they were streamed
from, both read with ASE: what examples/stream/check_stream.py and
examples/cu_snap/check_particles.py check alike.

each_done_frame(sink_path, source_path, fail) yields, for every frame of
the sink, (where, atoms, stage_steps): `where` names the frame for
messages, `atoms` is the ase.Atoms of the sink frame, `stage_steps` its
steps per stage (an array). Before it yields a frame it checks that the
comment line has source_index, sample, outcome and stage_steps; that the
frame is the only one of its source frame and that the source has it; that
its `name` and `natoms_in` keys are the source frame's, its outcome done,
its atom count and species those of the source frame. When all are
yielded, it checks that every source frame was in the sink. A failed check
calls fail(message), which must not return.

Needs Debian's python3 with python3-ase and python3-numpy.
"""

import ase.io
import numpy as np


def each_done_frame(sink_path, source_path, fail):
    source = ase.io.read(source_path, index=":", format="extxyz")
    sink = ase.io.read(sink_path, index=":", format="extxyz")
    if not source:
        fail(f"{source_path}: no frames")
    by_index = {}
    for n, atoms in enumerate(sink):
        info = atoms.info
        where = f"{sink_path} frame {n}"
        for key in ("source_index", "sample", "outcome", "stage_steps", "name"):
            if key not in info:
                fail(f"{where}: no {key} in the comment line")
        k = int(info["source_index"])
        where += f" (source_index {k}, {info['name']})"
        if k in by_index:
            fail(f"{where}: source frame {k} is also {sink_path} frame {by_index[k]}")
        if not 0 <= k < len(source):
            fail(f"{where}: {source_path} has {len(source)} frames (0 to {len(source) - 1})")
        by_index[k] = n
        src = source[k]
        for key in ("name", "natoms_in"):
            if info.get(key) != src.info.get(key):
                fail(f"{where}: {key}={info.get(key)!r}, the source frame has "
                     f"{src.info.get(key)!r}")
        if info["outcome"] != "done":
            fail(f"{where}: outcome {info['outcome']} (reason {info.get('reason')}), "
                 "expected done")
        if len(atoms) != len(src):
            fail(f"{where}: {len(atoms)} atoms, the source frame has {len(src)}")
        if atoms.get_chemical_symbols() != src.get_chemical_symbols():
            fail(f"{where}: species differ from the source frame's")
        yield where, atoms, np.atleast_1d(info["stage_steps"])
    missing = [k for k in range(len(source)) if k not in by_index]
    if missing:
        fail(f"{len(missing)} source frames not in {sink_path}, the first {missing[:10]}")
