"""The classifier widget's controls, and what they read into the session's settings.

:class:`Controls` builds the magicgui widgets (layer pickers from napari's own layer types),
turns them into :class:`~napari_seglab.core.classifier.FeatureSettings` and
:class:`~.plans.Forest` (the model: SegLab's forest or a scikit-learn classifier, each with its
own settings shown), and shows a loaded classifier's settings and feature importances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    Select,
    SpinBox,
    Table,
    Widget,
    create_widget,
)

from ...core._validation import SegLabInputError
from ...core.classifier import FeatureSettings
from .._shared import ROLE_KEY
from .plans import Forest, Model, Scope
from .warmup import warm_up_done

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ...core.classifier import PixelClassifier
    from .plans import ImageSource

__all__ = ["CLASS_COLORS", "Controls", "color_for"]

#: Okabe-Ito colours (colour-blind safe), class 1 first.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
DEFAULT_CLASSES = ("background", "foreground")
#: The core's feature families, as the panel names them.
FAMILY_LABELS = {
    "intensity": "Gaussian intensity",
    "edges": "Edges (gradient magnitude)",
    "hessian": "Texture (Hessian eigenvalues)",
    "log": "Laplacian of Gaussian",
    "dog": "Difference of Gaussians",
    "structure_tensor": "Structure tensor eigenvalues",
    "gabor": "Gabor filters",
}


def color_for(label: int) -> str:
    """The colour of class `label` (1, 2, ...)."""
    return CLASS_COLORS[(label - 1) % len(CLASS_COLORS)]


def _layer_picker(kind: str, label: str, **options: Any) -> ComboBox:
    """A combo box of the viewer's layers of `kind`, kept current by napari's reset_choices."""
    return create_widget(annotation=f"napari.layers.{kind}", label=label, options=options)


class Controls:
    """The widgets of the classifier panel, public so that scripts and tests can set them."""

    def __init__(self, viewer: Any = None) -> None:
        self._viewer = viewer
        # image and strokes
        self.image = _layer_picker("Image", "Image", nullable=True)
        self.channels = Select(label="More channels", choices=self._channel_choices)
        self.channels.tooltip = (
            "Other Image layers of the same shape to use as extra channels (optional)."
        )
        self.training = ComboBox(
            label="Training layer", choices=self._training_choices, nullable=True
        )
        self.training.tooltip = (
            "The Labels layer of strokes. A ground truth or another Labels layer can be "
            "chosen here, but is never picked by itself; outputs are not offered."
        )
        self.add_button = PushButton(text="Add training layer")
        self.classes = LineEdit(label="Classes", value=", ".join(DEFAULT_CLASSES))
        self.classes.tooltip = "Names of label 1, 2, ... in the training layer, comma-separated."
        self.all_training = CheckBox(text="Train on all training layers", value=True)
        self.all_training.tooltip = (
            "Also learn from the strokes in every other training layer made for an image with "
            "the same number of channels (one classifier for several images)."
        )
        self._feature_controls()
        # actions
        self.train_button = PushButton(text="Train")
        self.update_button = PushButton(text="Update")
        self.update_button.tooltip = (
            "Once: train on the strokes and segment what is on screen, then the rest of the "
            "plane (as a live update does after each stroke)."
        )
        self.live = CheckBox(text="Live update (plane in view)", value=False)
        self.class_balance = Label(value="Painted: nothing yet.")
        self.scope = ComboBox(label="Apply to", choices=[s.value for s in Scope])
        self.target = _layer_picker("Image", "Other image", nullable=True)
        self.apply_button = PushButton(text="Apply")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="Progress", min=0, max=100, value=0)
        self.status = Label(value="Add a training layer and paint a few strokes per class.")
        # outputs
        self.probability_of = ComboBox(label="Probability of", choices=self._class_choices)
        self.foreground = ComboBox(label="Foreground class", choices=self._class_choices)
        self.foreground.tooltip = (
            "Pixels of this class form the '<image> foreground' 0/1 mask used by validation."
        )
        self.importance = Table(label="Feature importance")
        self.save_button = PushButton(text="Save classifier...")
        self.load_button = PushButton(text="Load classifier...")
        self.status.native.setWordWrap(True)
        self.class_balance.native.setWordWrap(True)
        self.channels.native.setMaximumHeight(56)
        self.importance.native.setMinimumHeight(170)
        self.foreground.value = self.probability_of.value = self.default_foreground()

    def _feature_controls(self) -> None:
        defaults = FeatureSettings()
        self.families = Select(
            label="Features", choices=[(text, key) for key, text in FAMILY_LABELS.items()]
        )
        self.families.value = [f for f in FAMILY_LABELS if getattr(defaults, f)]
        self.scales = LineEdit(
            label="Scales (px)", value=", ".join(f"{s:g}" for s in defaults.sigmas)
        )
        self.scales.tooltip = "Gaussian scales (sigma, in pixels) the features are computed at."
        self.features_3d = CheckBox(text="3D features (z-stacks)", value=False)
        self.features_3d.tooltip = (
            "Compute features in 3D (anisotropy from the layer scale) instead of plane by plane."
        )
        self.luminance = CheckBox(text="Luminance channel (RGB)", value=defaults.luminance)
        self.luminance.tooltip = (
            "For an image of 3 channels (RGB), also compute the features of its luminance "
            "(0.2125 R + 0.7154 G + 0.0721 B, as scikit-image's rgb2gray). Other images are "
            "unaffected."
        )
        self.model = ComboBox(label="Model", choices=[m.value for m in Model])
        self.model.tooltip = (
            "What learns from the strokes: SegLab's forest (fastest, retrains on every stroke) "
            "or a scikit-learn classifier (slower; docs/classifier.md compares them)."
        )
        self.trees = SpinBox(label="Trees", value=50, min=1, max=1000)
        self.depth = SpinBox(label="Max depth", value=10, min=1, max=100)
        self.learning_rate = FloatSpinBox(
            label="Learning rate", value=0.1, min=0.001, max=1.0, step=0.01
        )
        self.iterations = SpinBox(label="Iterations", value=100, min=1, max=10_000)
        self.iterations.tooltip = "Boosting iterations (trees grown one after another)."
        self.c = FloatSpinBox(label="C", value=1.0, min=0.0001, max=10_000.0, step=0.1)
        self.c.tooltip = "Inverse regularisation strength: smaller is smoother."
        self.balance = CheckBox(text="Balance classes", value=True)
        self.model.changed.connect(self.show_model_settings)

    def model_settings(self) -> list[Widget]:
        """The settings of the chosen model (the others are hidden)."""
        model = Model(self.model.value)
        if model is Model.GRADIENT_BOOSTING:
            return [self.learning_rate, self.iterations]
        if model is Model.LOGISTIC:
            return [self.c]
        return [self.trees, self.depth]

    def show_model_settings(self, *_: Any) -> None:
        """Show only the chosen model's settings (once the panel is built)."""
        shown = self.model_settings()
        for widget in (self.trees, self.depth, self.learning_rate, self.iterations, self.c):
            widget.visible = widget in shown

    def sections(self, bottom: Sequence[Widget] = ()) -> list[tuple[str | None, list[Widget]]]:
        """The panel, top to bottom: (title of a collapsible section or None, its widgets).

        What every run needs stays open; features, forest and outputs fold away (the panel
        then fits a laptop screen). `bottom`: more widgets on the last row, after Save / Load.
        """

        def row(*widgets: Widget) -> Container:
            return Container(widgets=widgets, layout="horizontal", labels=False)

        return [
            (
                None,
                [
                    self.image,
                    self.channels,
                    self.training,
                    row(self.add_button, self.all_training),
                    self.classes,
                    self.class_balance,
                ],
            ),
            ("Features", [self.families, self.scales, self.features_3d, self.luminance]),
            (
                "Model",
                [
                    self.model,
                    self.trees,
                    self.depth,
                    self.learning_rate,
                    self.iterations,
                    self.c,
                    self.balance,
                ],
            ),
            (
                None,
                [
                    row(self.train_button, self.update_button, self.live),
                    self.scope,
                    self.target,
                    row(self.apply_button, self.cancel_button),
                    self.progress,
                    self.status,
                ],
            ),
            (
                "Outputs and feature importance",
                [self.probability_of, self.foreground, self.importance],
            ),
            (None, [row(self.save_button, self.load_button, *bottom)]),
        ]

    # ------------------------------------------------------------------ choices
    def _channel_choices(self, _widget: Any = None) -> list:
        """Image layers that can be extra channels of the chosen image (same shape)."""
        image = self.image.value
        if image is None or image.rgb:
            return []
        return [
            layer
            for layer in self.image.choices
            if layer is not None
            and layer is not image
            and not layer.rgb
            and ROLE_KEY not in layer.metadata
            and tuple(layer.data.shape) == tuple(image.data.shape)
        ]

    def _training_choices(self, _widget: Any = None) -> list:
        """The viewer's Labels layers, without SegLab's outputs."""
        from napari.layers import Labels

        layers = [] if self._viewer is None else self._viewer.layers
        return [
            (layer.name, layer)
            for layer in layers
            if isinstance(layer, Labels) and ROLE_KEY not in layer.metadata
        ]

    def _class_choices(self, _widget: Any = None) -> list[tuple[str, int]]:
        return [(f"{i}: {name}", i) for i, name in enumerate(self.class_names, start=1)]

    @property
    def class_names(self) -> list[str]:
        """Names of label 1, 2, ... as typed in *Classes*."""
        return [n.strip() for n in self.classes.value.split(",") if n.strip()]

    def name_of(self, label: int) -> str:
        names = self.class_names
        return names[label - 1] if label <= len(names) else f"class {label}"

    def default_foreground(self) -> int | None:
        """The class named "foreground", else the last one."""
        names = self.class_names
        if "foreground" in names:
            return names.index("foreground") + 1
        return len(names) or None

    def class_colors(self, n: int | None = None) -> dict[int, str]:
        n = max(len(self.class_names), 2) if n is None else n
        return {i: color_for(i) for i in range(1, n + 1)}

    def show_running(self, running: bool, *, live: bool = False) -> None:
        """Enable the buttons that fit, and say what is going on."""
        c = self
        c.cancel_button.enabled = running
        enabled = not running or live
        c.train_button.enabled = c.apply_button.enabled = c.update_button.enabled = enabled
        if running:
            c.progress.value = 0
            c.status.value = "Updating..." if live else "Working..."
            if not warm_up_done():
                c.status.value += (
                    " (waiting for SegLab's compiled code, prepared in the background: "
                    "up to a minute once after installing, a second otherwise)"
                )

    # ------------------------------------------------------------------ settings
    def feature_settings(self, source: ImageSource) -> FeatureSettings:
        """FeatureSettings from the panel; anisotropy comes from the image's scale."""
        ndim = 3 if self.features_3d.value else 2
        if ndim > len(source.spatial_shape):
            raise SegLabInputError(
                f"'{source.name}' is a 2D image: untick '3D features' to classify it."
            )
        families = set(self.families.value)
        if not families:
            raise SegLabInputError("Choose at least one feature family.")
        return FeatureSettings(
            sigmas=_parse_scales(self.scales.value),
            mode=f"{ndim}d",
            spacing=source.spacing(ndim),
            luminance=bool(self.luminance.value),
            **{family: family in families for family in FAMILY_LABELS},
        )

    def forest(self) -> Forest:
        return Forest(
            n_estimators=int(self.trees.value),
            max_depth=int(self.depth.value),
            class_weight="balanced" if self.balance.value else None,
            model=Model(self.model.value),
            learning_rate=float(self.learning_rate.value),
            max_iter=int(self.iterations.value),
            c=float(self.c.value),
        )

    def show_settings(self, classifier: PixelClassifier) -> None:
        """Show a loaded classifier's classes, features and model in the panel.

        A scikit-learn estimator that none of the panel's choices makes (a pipeline of its
        own) leaves the model choice as it is: training again uses the panel's choice.
        """
        named = classifier.class_names
        top = max([*named, *classifier.classes_.tolist(), 2])
        self.classes.value = ", ".join(named.get(i, f"class {i}") for i in range(1, top + 1))
        settings = classifier.features
        self.families.value = [f for f in FAMILY_LABELS if getattr(settings, f)]
        self.scales.value = ", ".join(f"{s:g}" for s in settings.sigmas)
        self.features_3d.value = settings.ndim == 3
        self.luminance.value = settings.luminance
        estimator = classifier.estimator
        model = Model.of(estimator)
        if model is None:
            return
        self.model.value = model.value
        if model is Model.SEGLAB:
            self.trees.value = classifier.n_estimators
            self.depth.value = classifier.max_depth or self.depth.max
            self.balance.value = classifier.class_weight is not None
            return
        params = {key.rsplit("__", 1)[-1]: value for key, value in estimator.get_params().items()}
        if model is Model.GRADIENT_BOOSTING:
            self.learning_rate.value = params["learning_rate"]
            self.iterations.value = params["max_iter"]
        elif model is Model.LOGISTIC:
            self.c.value = params["C"]
        else:
            self.trees.value = params["n_estimators"]
            self.depth.value = params["max_depth"] or self.depth.max
        self.balance.value = params.get("class_weight") is not None

    def show_importance(self, classifier: PixelClassifier) -> None:
        """Fill the importance table, largest first, with a bar to read it at a glance."""
        pairs = sorted(classifier.feature_importances().items(), key=lambda p: -p[1])
        top = max((value for _, value in pairs), default=1.0) or 1.0
        rows = [
            [name, f"{100 * value:.1f} %", "\u2588" * max(1, round(12 * value / top))]
            for name, value in pairs
        ]
        self.importance.value = (
            rows,
            list(range(1, len(rows) + 1)),
            ["feature", "importance", ""],
        )


def _parse_scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(s) for s in text.replace(";", ",").split(",") if s.strip())
    except ValueError:
        raise SegLabInputError(
            f"Scales must be numbers separated by commas (e.g. 1, 2, 4), not {text!r}."
        ) from None
