"""Applies each mutation of mutations.py to the scratch tree, builds, runs the filtered
tests, and prints caught/survived. Driven by deploy/mutants (which starts PostgreSQL)."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from mutations import MUTATIONS  # noqa: E402

scratch = os.environ["HERALD_MUTANTS_SCRATCH"]
build = os.environ["HERALD_MUTANTS_BUILD"]
wanted = set(sys.argv[1:])
env = dict(os.environ)


def swift(*args, timeout=1800):
    """Runs swift in a session of its own; past `timeout` the whole session (the test
    process and any daemon it started) is killed and TimeoutExpired raised."""
    process = subprocess.Popen(["swift", *args, "--scratch-path", build], cwd=scratch, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out)


def main():
    start = time.time()
    base = swift("build", "--build-tests")
    if base.returncode != 0:
        print(base.stdout[-3000:])
        sys.exit("mutants: the unmutated tree does not build")
    env["HERALD_BINARY"] = os.path.join(swift("build", "--show-bin-path").stdout.strip(), "herald")
    rows = []
    for name, path, old, new, tests, occurrence in MUTATIONS:
        if wanted and name not in wanted:
            continue
        file = os.path.join(scratch, path)
        original = open(file, encoding="utf-8").read()
        count = original.count(old)
        if count < occurrence:
            rows.append((name, "invalid", f"text not found ({count} occurrences) in {path}"))
            print(f"{name:32} invalid: text not found in {path}", flush=True)
            continue
        at = -1
        for _ in range(occurrence):
            at = original.index(old, at + 1)
        open(file, "w", encoding="utf-8").write(original[:at] + new + original[at + len(old):])
        t0 = time.time()
        try:
            built = swift("build", "--build-tests")
            if built.returncode != 0:
                verdict, detail = "invalid", "does not compile"
            else:
                try:
                    run = swift("test", "--skip-build", "--filter", tests, timeout=300)
                    failed = run.returncode != 0
                    verdict = "caught" if failed else "survived"
                    detail = next((line.strip()[:160] for line in run.stdout.splitlines() if line.startswith("✘ Test ") and "recorded an issue" in line), "")
                except subprocess.TimeoutExpired:
                    # A suite that never finishes under the mutation (a request that hangs) fails CI too.
                    verdict, detail = "caught", "the tests did not finish within 300 s (they hang without the guard)"
        finally:
            open(file, "w", encoding="utf-8").write(original)
        rows.append((name, verdict, detail))
        print(f"{name:32} {verdict:8} {time.time() - t0:5.0f} s  {tests}  {detail}", flush=True)
    caught = sum(1 for r in rows if r[1] == "caught")
    print(f"\nmutants: {caught} caught, {sum(1 for r in rows if r[1] == 'survived')} survived, "
          f"{sum(1 for r in rows if r[1] == 'invalid')} invalid, of {len(rows)} in {time.time() - start:.0f} s")
    sys.exit(0 if caught == len(rows) else 1)


main()
