#!/usr/bin/python3
"""ctest "plot_samples": scripts/plot_samples.py turns a small fix nvdyn log
and sink (3 samples, 2 stages; outcomes done, timeout, failed) into its
three figures, each a valid PNG (signature, IHDR first) of 9 x 5 inches at
the --dpi asked for; a file that is not a fix nvdyn log is an error naming it.
Usage: test_plot_samples.py SCRIPT"""

import os
import struct
import subprocess
import sys
import tempfile

LOG = """step,sample,stage,outcome,energy,fmax,temperature
10,1,relax,active,-40.0,1.0,0
10,2,relax,active,-20.0,2.0,0
10,3,relax,active,-10.0,3.0,0
20,1,md,active,-44.0,0.001,0.1
20,2,relax,active,-21.0,1.5,0
20,3,relax,failed,-10.0,3.0,0
30,1,md,active,-43.5,0.2,0.12
30,2,relax,timeout,-21.5,1.2,0
30,3,relax,failed,-10.0,3.0,0
"""


def frame(sample, natoms, outcome, stage_steps, step):
    lines = [str(natoms), f'Lattice="10 0 0 0 10 0 0 0 10" Properties=species:S:1:pos:R:3 '
             f'sample={sample} outcome={outcome} reason=none energy=-1 fmax=0 '
             f'stage_steps="{stage_steps}" step={step} pbc="T T T"']
    lines += [f"Ar {k} 0 0" for k in range(natoms)]
    return "\n".join(lines) + "\n"


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: no PNG signature"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert kind == b"IHDR" and length == 13, f"{path}: first chunk is not IHDR"
    return struct.unpack(">II", head[16:24])


def main():
    script = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        log, sink = os.path.join(tmp, "run.csv"), os.path.join(tmp, "run.extxyz")
        with open(log, "w") as f:
            f.write(LOG)
        with open(sink, "w") as f:
            f.write(frame(3, 4, "failed", "15 0", 15) + frame(2, 5, "timeout", "25 0", 25)
                    + frame(1, 13, "done", "12 28", 40))
        for dpi, size in ((100, (900, 500)), (40, (360, 200))):
            out = os.path.join(tmp, f"dpi{dpi}")
            subprocess.run([sys.executable, script, log, sink, "-o", out, "--dpi", str(dpi)],
                           check=True)
            for what in ("flow", "energy", "steps"):
                path = os.path.join(out, f"run_{what}.png")
                got = png_size(path)
                assert got == size, f"{path}: {got[0]} x {got[1]} pixels, expected {size}"
        bad = os.path.join(tmp, "bad.csv")
        with open(bad, "w") as f:
            f.write("step,sample\n1,2\n")
        proc = subprocess.run([sys.executable, script, bad, sink, "-o", tmp],
                              capture_output=True, text=True)
        assert proc.returncode != 0 and "bad.csv: not a fix nvdyn log" in proc.stderr, proc.stderr
    print("test_plot_samples: OK")


if __name__ == "__main__":
    main()
