#!/usr/bin/env python3
"""libnvdyn.so through Python ctypes: the C ABI is usable without a compiler.

Asserts that a FIRE relaxation of independent harmonic wells driven from
Python reaches the minimum (each sample converged, every |f| below fmax), and
that a bad argument comes back as a status code with a message naming it.
Usage: test_ctypes.py /path/to/libnvdyn.so
"""
import ctypes as C
import sys

import numpy as np

lib = C.CDLL(sys.argv[1])
OK, ERR_VALUE = 0, 2


class View3(C.Structure):
    _fields_ = [("data", C.POINTER(C.c_double)), ("atom_stride", C.c_ssize_t),
                ("comp_stride", C.c_ssize_t)]


class Atoms(C.Structure):
    _fields_ = [("natoms", C.c_int), ("x", View3), ("v", View3), ("f", View3),
                ("rmass", C.POINTER(C.c_double)), ("type_mass", C.POINTER(C.c_double)),
                ("type", C.POINTER(C.c_int)), ("ntypes", C.c_int),
                ("sample", C.POINTER(C.c_int)), ("index", C.POINTER(C.c_int32)),
                ("pe", C.POINTER(C.c_double)), ("generation", C.c_uint64)]


def ptr(a, t):
    return a.ctypes.data_as(C.POINTER(t))


lib.nvdyn_engine_last_error.restype = C.c_char_p
lib.nvdyn_engine_set.argtypes = [C.c_void_p, C.c_char_p, C.c_double]
lib.nvdyn_stage_until.argtypes = [C.c_void_p, C.c_int, C.c_char_p, C.c_double]
lib.nvdyn_stage_set.argtypes = [C.c_void_p, C.c_int, C.c_char_p, C.c_double]

assert lib.nvdyn_abi_version() == 4
e = C.c_void_p()
assert lib.nvdyn_engine_create(C.byref(e)) == OK
assert lib.nvdyn_stage_add(e, b"fire", None) == OK
assert lib.nvdyn_stage_until(e, 0, b"fmax", 1e-6) == OK
assert lib.nvdyn_engine_set(e, b"dt", 0.05) == OK
assert lib.nvdyn_stage_set(e, 0, b"every", 0) == ERR_VALUE
msg = lib.nvdyn_engine_last_error(e).decode()
assert "every must be an integer >= 1, got 0" in msg, msg
nsamples, per = 4, 5
assert lib.nvdyn_engine_set_nsamples(e, nsamples) == OK

n = nsamples * per
rng = np.random.default_rng(7)
x = rng.uniform(-1, 1, (n, 3))
v = np.zeros((n, 3))
f = -x.copy()  # harmonic wells around the origin, k = 1
mass = np.array([0.0, 1.0])
types = np.ones(n, dtype=np.int32)
sample = np.repeat(np.arange(nsamples, dtype=np.int32), per)
atoms = Atoms(n, View3(ptr(x, C.c_double), 3, 1), View3(ptr(v, C.c_double), 3, 1),
              View3(ptr(f, C.c_double), 3, 1), None, ptr(mass, C.c_double),
              ptr(types, C.c_int), 1, ptr(sample, C.c_int), None, None)
outcome = np.zeros(nsamples, dtype=np.int32)
for step in range(5000):
    assert lib.nvdyn_pre_update(e, C.byref(atoms)) == OK
    f[:] = -x
    assert lib.nvdyn_post_update(e, C.byref(atoms)) == OK
    assert lib.nvdyn_end_step(e, C.byref(atoms), None) == OK
    lib.nvdyn_get_sample_outcomes(e, ptr(outcome, C.c_int))
    if (outcome != 0).all():
        break
assert (outcome == 1).all(), outcome  # NVDYN_DONE
assert np.linalg.norm(f, axis=1).max() <= 1e-6
lib.nvdyn_engine_destroy(e)
print(f"ctypes: {nsamples} samples relaxed in {step + 1} steps, max |f| "
      f"{np.linalg.norm(f, axis=1).max():.2e}")
