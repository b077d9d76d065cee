"""Loading a model file: in a ``ModelLoadWorker`` (one load at a time; a new one cancels the last), with the
load settings the controller chooses for that file; the loaded model is handed to the controller, which owns
it (a reload closes the model it replaces). Owned by the app, so a language switch does not interrupt a load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ..session.controller import ChatController
from .context import KEY_MODEL, AppContext
from .workers import Job, ModelLoadWorker

if TYPE_CHECKING:
    from ..engine import WorkerGenerator
    from ..session.load_settings import LoadSettings


class ModelLoader(QObject):
    loading = Signal(str)  # the file's name
    loaded = Signal(str)  # the file's path: the model answers now
    failed = Signal(str)  # one line

    def __init__(self, controller: ChatController, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller, self.ctx = controller, ctx
        self.job: Job | None = None
        self._before: tuple[str, LoadSettings] | None = None  # what was chosen before the load under way

    def load(self, path: Path) -> Job:
        """Load ``path`` with its load settings (context size, KV cache type, budget)."""
        if self.job is not None:
            self.job.cancel()
        else:
            self._before = self.controller.chosen()
        used = self.controller.choose_model(str(path))
        self.loading.emit(Path(path).name)
        job = ModelLoadWorker(Path(path), options=self.controller.load_options())
        job.succeeded.connect(lambda generator: self._ready(job, generator, str(path), used))
        job.failed.connect(lambda message: self._failed(job, message))
        job.cancelled.connect(lambda: self._cancelled(job))
        self.job = job
        job.start()
        return job

    def reload(self) -> Job | None:
        """The current model again, with the load settings just chosen (not while a reply is written)."""
        info = self.controller.model_info
        if info is None or self.controller.busy():
            return None
        return self.load(Path(str(info.path)))

    def _forget(self, job: Job) -> bool:
        if job is not self.job:
            return False
        self.job = None
        return True

    def _ready(self, job: Job, generator: WorkerGenerator, path: str, used: LoadSettings) -> None:
        if not self._forget(job):
            generator.close()  # a load that another one replaced: not used
            return
        self._before = None
        self.controller.adopt(generator, used)
        self.ctx.put(KEY_MODEL, path)
        self.loaded.emit(path)

    def _cancelled(self, job: Job) -> None:
        if self._forget(job):
            self._choose_back()

    def _failed(self, job: Job, message: str) -> None:
        if self._forget(job):
            self._choose_back()
            self.failed.emit(message)

    def _choose_back(self) -> None:
        """The load did not happen: the loaded model's file and load settings are the chosen ones again (a
        change of them must not be kept for the file that failed)."""
        before, self._before = self._before, None
        if before is not None:
            self.controller.choose_back(before)

    def cancel_and_wait(self, ms: int = 10000) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.cancel()
            job.wait(ms)
