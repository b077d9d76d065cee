"""The first run on the welcome page: the official file recommended for this computer (no network), its
download, or the demo model, each with its progress on the page itself (the model manager runs the job,
unseen)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from .welcome import WelcomePage
from .workers import Job


class FirstRun(QObject):
    """Fills ``page`` and follows the download or demo set-up it starts; ``manager()`` gives the model manager."""

    def __init__(self, page: WelcomePage, manager: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.manager = manager
        self.recommended: Any = None  # the official file recommended
        self.job: Job | None = None  # the download or demo set-up the page shows

    def recommend(self) -> None:
        """Recommend a file for this computer's memory (``session.catalogue.recommend``)."""
        from ..session import catalogue, models

        memory = models.total_memory()
        self.recommended = catalogue.recommend(memory)
        self.page.show_recommendation(self.recommended, catalogue.family_of(self.recommended.repo_id), memory)

    def download(self) -> Job | None:
        if self.recommended is None:
            self.recommend()
        f = self.recommended
        return self.follow(self.manager().download(f.repo_id, f.quant))

    def demo(self) -> Job | None:
        return self.follow(self.manager().start_demo())

    def cancel(self) -> None:
        if self.job is not None:
            self.manager().cancel()

    def follow(self, job: Job | None) -> Job | None:
        """Show ``job``'s progress, its failure or its cancellation on the page."""
        if job is None:
            return None
        self.job = job
        self.page.show_busy(True)
        self.page.show_progress(0.0, self.manager().message.text())
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        job.finished.connect(self._done)
        return job

    def hand_over(self, other: FirstRun) -> None:
        """A new window takes over (a language switch): its page follows the download or set-up under way (its
        Cancel cancels it), and this page no longer does."""
        job, self.job = self.job, None
        if job is not None:
            job.failed.disconnect(self._failed)
            job.cancelled.disconnect(self._cancelled)
            job.finished.disconnect(self._done)
            other.follow(job)

    def _failed(self, _message: str) -> None:
        self.page.show_progress(0.0, self.manager().message.text())

    def _cancelled(self) -> None:
        self.page.show_progress(0.0, self.tr("Cancelled; nothing was kept."))

    def progress(self, fraction: float, text: str) -> None:
        """The manager's progress line, while the page follows a job."""
        if self.job is not None:
            self.page.show_progress(fraction, text)

    def _done(self) -> None:
        self.job = None
        self.page.show_busy(False)
