import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve immunoport over HTTP (gunicorn) together with a background task worker. "
        "Stops both on Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        # Requests are CPU-bound Python: one process per core, each with a few threads
        # to overlap the waits (database, storage) without queueing on its GIL.
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 2, help="HTTP worker processes"
        )
        parser.add_argument("--threads", type=int, default=4, help="threads per HTTP worker")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start a task worker here (workers run on other machines)",
        )

    def handle(self, *args, host, port, workers, threads, no_worker, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        children = []
        if not no_worker:
            children.append(subprocess.Popen([sys.executable, "-m", "immunoport.cli", "worker"]))
        children.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "immunoport.wsgi",
                    "--bind", f"{host}:{port}",
                    "--workers", str(workers),
                    "--threads", str(threads),
                    "--worker-class", "gthread",
                    "--access-logfile", "-",
                ]
            )
        )  # fmt: skip
        self.stdout.write(f"immunoport is serving on http://{host}:{port}/")

        def stop(signum, frame):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        os.wait()  # whichever stops first (or a signal) brings the other down
        stop(None, None)
        sys.exit(max(child.wait() for child in children))
