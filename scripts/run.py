"""`make run`: prepare the embedded default (migrate, demo data) and start web, worker and beat together."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    env = os.environ
    env.setdefault("DEBUG", "1")
    port, host = env.setdefault("PORT", "8000"), env.setdefault("HOST", "127.0.0.1")
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--no-input", "--verbosity", "0")
    manage("bootstrap_demo", "--print-credentials")
    print(
        f"\n  sageint is starting at {env['SITE_URL']}/   (Ctrl-C stops web, worker and beat)\n", flush=True
    )
    # honcho runs the three processes of Procfile.dev and stops them all together.
    honcho = [str(BIN / "honcho"), "start", "-f", "Procfile.dev", "-p", port]
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    try:
        return subprocess.call(honcho, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
