"""`visionq up | gateway | worker | frontend`: one command per process kind, and one for the whole stack."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.embedded_redis import start_redis

logger = logging.getLogger("visionq")

FRONTEND_ENTRY = Path(__file__).resolve().parent.parent / "frontend" / "Home.py"


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_gateway(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from workers.config import WorkerSettings
    from workers.main import run_worker

    overrides: dict[str, object] = {}
    if args.tasks:
        overrides["tasks"] = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.device:
        overrides["device"] = args.device
    run_worker(WorkerSettings(**overrides))  # type: ignore[arg-type]


def cmd_frontend(args: argparse.Namespace) -> None:
    os.execvp(sys.executable, [sys.executable, *_streamlit_args(args.port, args.host)])


def _streamlit_args(port: int, host: str = "127.0.0.1") -> list[str]:
    flags = {
        "--server.port": str(port),
        "--server.address": host,
        "--server.headless": "true",
        "--browser.gatherUsageStats": "false",
    }
    return ["-m", "streamlit", "run", str(FRONTEND_ENTRY), *[x for kv in flags.items() for x in kv]]


def cmd_up(args: argparse.Namespace) -> None:
    """Embedded Redis (unless REDIS_URL is set), gateway, one worker and the frontend, until Ctrl-C."""
    env = dict(os.environ)
    redis_server = None
    children: dict[str, subprocess.Popen[bytes]] = {}
    stop = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    try:  # whatever happens from here on, the children and then Redis are stopped
        if not env.get("REDIS_URL"):
            redis_server = start_redis(data_dir=Path(args.data_dir) / "redis", appendonly=True)
            env["REDIS_URL"] = redis_server.url
        api_url = f"http://127.0.0.1:{args.port}"
        env.setdefault("VISIONQ_API_URL", api_url)
        me = [sys.executable, "-m", "app.cli"]
        commands = {
            "gateway": [*me, "gateway", "--host", args.host, "--port", str(args.port)],
            "worker": [*me, "worker", "--device", args.device, *(["--tasks", args.tasks] if args.tasks else [])],
        }
        if not args.no_frontend:
            commands["frontend"] = [sys.executable, *_streamlit_args(args.frontend_port)]
        for name, cmd in commands.items():
            children[name] = subprocess.Popen(cmd, env=env)
        print(f"visionq is starting (Redis: {env['REDIS_URL']})")
        print(f"  API:      {api_url}   (docs: {api_url}/docs)")
        if not args.no_frontend:
            print(f"  Frontend: http://127.0.0.1:{args.frontend_port}")
        print("  Ctrl-C stops everything.")
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed
            signal.signal(signum, _stop)
        while not stop:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with code {child.returncode}; stopping the stack", file=sys.stderr)
                    stop = True
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server:
            redis_server.stop()


def cmd_weights(args: argparse.Namespace) -> None:
    from models import registry

    registry.load_specs()
    fetchers = registry.weight_fetchers()
    if args.task not in fetchers:
        raise SystemExit(f"no official weights to fetch for {args.task!r}; tasks with some: {sorted(fetchers)}")
    if args.dest:
        dest = Path(args.dest).expanduser()
    else:
        import torch.hub

        # Where workers look when VISIONQ_WEIGHTS_DIR is unset, so a fetched file is found without configuration.
        dest = Path(torch.hub.get_dir()) / "checkpoints"
    try:
        written = registry.fetch_weights(args.task, dest)
    except OSError as exc:  # urllib's URLError is an OSError: no network, proxy refused, disk full
        raise SystemExit(f"could not fetch the weights of {args.task!r} into {dest}: {exc}") from None
    print(json.dumps({"task": args.task, "files": [str(p) for p in written]}, indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visionq", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run Redis (embedded unless REDIS_URL is set), gateway, worker, frontend")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--frontend-port", type=int, default=8501)
    up.add_argument("--no-frontend", action="store_true")
    up.add_argument("--tasks", default="", help="comma-separated tasks for the worker (default: all)")
    up.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    up.add_argument("--data-dir", default=".visionq", help="where the embedded Redis keeps its append-only file")
    up.set_defaults(func=cmd_up)

    gw = sub.add_parser("gateway", help="run the HTTP gateway (needs REDIS_URL)")
    gw.add_argument("--host", default="127.0.0.1")
    gw.add_argument("--port", type=int, default=8000)
    gw.add_argument("--workers", type=int, default=1, help="gateway processes (they are stateless)")
    gw.set_defaults(func=cmd_gateway)

    wk = sub.add_parser("worker", help="run a worker (needs REDIS_URL)")
    wk.add_argument("--tasks", default="", help="comma-separated tasks (default: all)")
    wk.add_argument("--device", default="", help="auto, cpu or cuda:N (default: VISIONQ_DEVICE or auto)")
    wk.set_defaults(func=cmd_worker)

    fe = sub.add_parser("frontend", help="run the Streamlit frontend (VISIONQ_API_URL points at the gateway)")
    fe.add_argument("--host", default="127.0.0.1")
    fe.add_argument("--port", type=int, default=8501)
    fe.set_defaults(func=cmd_frontend)

    wt = sub.add_parser("weights", help="official checkpoints")
    wt_sub = wt.add_subparsers(dest="weights_command", required=True)
    fetch = wt_sub.add_parser("fetch", help="download a task's official weights (needs network access)")
    fetch.add_argument("task")
    fetch.add_argument(
        "--dest",
        default=os.environ.get("VISIONQ_WEIGHTS_DIR"),
        help="target directory (default: $VISIONQ_WEIGHTS_DIR, else the torch hub cache's checkpoints/)",
    )
    fetch.set_defaults(func=cmd_weights)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    args.func(args)


if __name__ == "__main__":
    main()
