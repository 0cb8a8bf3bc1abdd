"""What the classifier widget reads from its controls and layers: the session's plans.

:class:`Inputs` turns the chosen image layer(s), training layers and settings into
:class:`~.plans.ImageSource`, :class:`~.plans.Training` and the session's plans, on the GUI
thread: only the painted planes of the strokes are copied, no image is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core._validation import SegLabInputError
from .layers import linked_images, plane_index
from .plans import ImageSource, Plan, Request, Scope, Training
from .session import NO_CLASSIFIER
from .view import region_in_view

if TYPE_CHECKING:
    import napari

    from .controls import Controls
    from .session import ClassifierSession

__all__ = ["Inputs"]


class Inputs:
    """Reads `controls` and `viewer` into plans for `session`."""

    def __init__(self, controls: Controls, viewer: napari.Viewer, session: ClassifierSession):
        self.controls = controls
        self.viewer = viewer
        self.session = session

    def labels_layers(self) -> list:
        """The viewer's Labels layers (the training layer picker's choices)."""
        return [x for x in self.controls.training.choices if x is not None]

    def image_layers(self) -> tuple:
        """The chosen image layer, then the extra channel layers."""
        image = self.controls.image.value
        if image is None:
            raise SegLabInputError("Choose an image layer first (add one to the viewer).")
        extra = [layer for layer in self.controls.channels.value if layer is not image]
        return (image, *extra)

    def source(self) -> ImageSource:
        """The chosen image, checked (no pyramid, channels of one shape)."""
        source = ImageSource.of(*self.image_layers())
        source.check()
        return source

    def training_items(self, source: ImageSource) -> list[Training]:
        """The chosen training layer first, then (ticked) the others with their images."""
        chosen = self.controls.training.value
        if chosen is None:
            raise SegLabInputError(
                "Choose a training layer, or press 'Add training layer' and paint strokes."
            )
        items = [Training(source, chosen.data, chosen.name)]
        if self.controls.all_training.value:
            images = [x for x in self.controls.image.choices if x is not None]
            for layer in self.labels_layers():
                linked = linked_images(layer, images)
                if layer == chosen or not linked:
                    continue
                image = ImageSource.of(*linked)
                if self._same_kind(image, source):
                    items.append(Training(image, layer.data, layer.name))
        return items

    def _same_kind(self, image: ImageSource, source: ImageSource) -> bool:
        """Whether strokes on `image` can train with those on `source`: same channels, and
        enough spatial axes for the features (a 2D image does not join 3D features)."""
        ndim = 3 if self.controls.features_3d.value else 2
        return image.n_channels == source.n_channels and len(image.spatial_shape) >= ndim

    def training_inputs(self) -> tuple[list[Training], dict]:
        """The strokes to learn from, and the settings, features and plane to show."""
        c = self.controls
        source = self.source()
        items = self.training_items(source)
        options = {
            "settings": c.feature_settings(source),
            "forest": c.forest(),
            "plane": plane_index(source, c.image.value, self.viewer),
            "view": region_in_view(self.viewer, c.image.value, source.spatial_shape),
        }
        return items, options

    def training_plan(self, *, live: bool) -> Plan | None:
        """Plan a training (a live update: None when the plane in view is up to date)."""
        c = self.controls
        names = c.class_names
        if not names:
            raise SegLabInputError(
                "Type the class names in 'Classes' (label 1, 2, ...), e.g. background, foreground."
            )
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SegLabInputError(f"Class names must differ: '{twice[0]}' is given twice.")
        training, options = self.training_inputs()
        return self.session.plan_training(
            training,
            **options,
            class_names=names,
            live=live,
            probability_of=c.probability_of.value,
            foreground=c.foreground.value,
            stack=Scope.parse(c.scope.value) is Scope.ALL,
        )

    def apply_plan(self, scope: Scope) -> Plan:
        """Plan applying the classifier to the plane in view, the whole image, or another."""
        c = self.controls
        if self.session.classifier is None:
            raise SegLabInputError(NO_CLASSIFIER)
        if scope is Scope.OTHER:
            if c.target.value is None:
                raise SegLabInputError("Choose the other image to apply the classifier to.")
            source, plane = ImageSource.of(c.target.value), None
        else:
            source = self.source()
            in_view = scope is Scope.PLANE
            plane = plane_index(source, c.image.value, self.viewer) if in_view else None
        return self.session.plan_apply(
            source,
            plane=plane,
            probability_of=c.probability_of.value,
            foreground=c.foreground.value,
        )

    def live_request(self) -> Request | None:
        """What a live update would bring up to date now (None when it cannot run)."""
        try:
            training, options = self.training_inputs()
            return self.session.request(training, **options)
        except SegLabInputError:
            return None
