"""The Studio's images: pickers, uploads, thumbnails and sizes (a part of `Studio`)."""

from __future__ import annotations

import html
import warnings

from nst_teach.images import (
    image_to_jpeg_bytes,
    image_to_png_bytes,
    load_image,
    resize_to_max_size,
)
from nst_teach.samples import KINDS, SampleFallbackWarning, sample_image
from nst_teach.widgets import studio_logic
from nst_teach.widgets.common import (
    LOAD_ERRORS,
    _error_html,
    readable_error,
    uploaded_files,
)


class StudioImages:
    """What `Studio` does with its images (it keeps them in `sources`, `content`, `style`)."""

    def load_images(self) -> None:
        """Sets `content` and `style` from the chosen sources at the chosen size."""
        for kind in KINDS:
            image = resize_to_max_size(self.sources[kind][self.pickers[kind].value],
                                       self.size.value)
            setattr(self, kind, image)  # self.content or self.style
            self._show_thumbnail(kind)
        if self.image is None:  # no result yet: the preview shows the content
            self.preview.value = image_to_jpeg_bytes(self.content)

    def add_upload(self, kind: str, file_name: str, content: bytes) -> bool:
        """Uses an uploaded file as the content or style image (and adds it to the picker).

        Args:
            kind: `"content"` or `"style"`.
            file_name: The file's name, shown in the picker as `"upload: <name>"`.
            content: The file's bytes (at most `MAX_UPLOAD_BYTES`).

        Returns:
            True if it is used; False if not (too large, not an image, a run
            going), with the reason in the status line.
        """
        problem = studio_logic.upload_problem(self.running, file_name, len(content))
        if problem is None:
            try:
                image = load_image(content, max_size=self.size_limit)
            except LOAD_ERRORS as error:
                problem = f"Could not load {file_name}: {readable_error(error)}"
        if problem is not None:
            self.status.value = _error_html(problem)
            return False
        name = f"upload: {file_name}"
        self.sources[kind][name] = image
        picker = self.pickers[kind]
        self._updating = True
        try:
            if name not in picker.options:
                picker.options = [*picker.options, name]
            picker.value = name
            if kind == "style" and name not in self.second_style.options:
                self.second_style.options = [*self.second_style.options, name]
        finally:
            self._updating = False
        self._use(kind, name)
        return True

    def source(self, kind: str, name: str):
        """The source image `name` of `kind` (loading a sample the first time).

        Raises:
            ValueError, TypeError, OSError: If the sample cannot be loaded.
        """
        if name not in self.sources[kind]:
            self.sources[kind][name] = sample_image(name, max_size=self.size_limit)
        return self.sources[kind][name]

    def _on_pick(self, kind: str, change: dict) -> None:
        """A picker changed: load the sample (once) and use it, or go back and say why."""
        if self._updating:
            return
        name, notes = change["new"], []
        problem = studio_logic.BUSY if self.running else None
        if problem is None and name not in self.sources[kind]:
            try:
                with warnings.catch_warnings(record=True) as notes:
                    warnings.simplefilter("always", SampleFallbackWarning)
                    self.source(kind, name)
            except LOAD_ERRORS as error:
                problem = f"Could not load sample {name}: {readable_error(error)}"
        if problem is not None:
            self._updating = True
            try:
                self.pickers[kind].value = change["old"]
            finally:
                self._updating = False
            self.status.value = _error_html(problem)
            return
        self._use(kind, name, " ".join(str(note.message) for note in notes))

    def _use(self, kind: str, name: str, note: str = "") -> None:
        self.load_images()
        self._on_regions()
        self.status.value = html.escape(studio_logic.image_note(kind, name, getattr(self, kind),
                                                                note))

    def _on_upload(self, kind: str, change: dict) -> None:
        try:
            files = uploaded_files(change["new"])
        except (KeyError, TypeError) as error:
            self.status.value = _error_html(f"Could not read the upload: {readable_error(error)}")
            return
        for file_name, content in files:
            self.add_upload(kind, file_name, content)

    def _on_size(self, change: dict) -> None:
        if not self.running:  # otherwise the next run loads them
            self.load_images()

    def _show_thumbnail(self, kind: str) -> None:
        image = getattr(self, kind)  # self.content or self.style
        self.thumbnails[kind].value = image_to_png_bytes(resize_to_max_size(image, 192))
