"""OME-Zarr (NGFF) images: the metadata SegLab keeps, pyramids read and planned, levels made.

An OME-Zarr store is a zarr group whose ``multiscales`` metadata lists the levels of a
pyramid (full resolution first), the axes (``t``, ``c``, ``z``, ``y``, ``x`` with their
types and units) and each level's scale. The ``ome-zarr`` package parses it and opens the
levels as dask arrays; this module checks what it found against the arrays (a level that is
listed but missing, a scale of the wrong length, axes SegLab cannot use), picks one level
and one channel, and for writing plans the downsampled levels and their metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._validation import SegLabInputError

if TYPE_CHECKING:
    import dask.array as da
    import zarr

__all__ = [
    "OME_SUFFIX",
    "PYRAMID_TOP",
    "ImageMetadata",
    "check_metadata",
    "downsample",
    "is_ome_path",
    "is_ome_zarr",
    "level_factors",
    "read_ome_zarr",
    "write_ome_metadata",
]

OME_SUFFIX = ".ome.zarr"
PYRAMID_TOP = 256
"""By default a pyramid is halved until its planes fit in this many pixels a side."""

_TYPES = {"x": "space", "y": "space", "z": "space", "c": "channel", "t": "time"}
_DEFAULT_AXES = {1: ("x",), 2: ("y", "x"), 3: ("z", "y", "x"), 4: ("t", "z", "y", "x")}


@dataclass(frozen=True)
class ImageMetadata:
    """Axes, physical scale and units of an image, as OME-Zarr stores them.

    :func:`~napari_seglab.core.io.open_image` puts one on the array it returns (its
    ``metadata`` attribute) and :func:`~napari_seglab.core.io.save` writes it into an
    ``.ome.zarr`` output. For formats without such metadata (plain zarr, TIFF, PNG, ``.npy``)
    the axes are named from the number of dimensions and the scale is 1.

    Attributes
    ----------
    axes : tuple of str
        Axis names, e.g. ``("z", "y", "x")``; a channel axis read with ``channel=`` is gone.
    types : tuple of str
        Each axis's type: ``"space"``, ``"time"`` (or ``"channel"``).
    scale : tuple of float
        The pixel size along each axis, at this level, in `units`.
    units : tuple of str or None
        Each axis's unit (``"micrometer"``, ``"second"``, ...), None where not given.
    translation : tuple of float
        Where the first pixel's centre lies, in `units`.
    labels : bool
        Whether the store holds labels or a mask (``image-label`` metadata), not an image.
    level : int
        Which pyramid level this is (0: full resolution).
    levels : tuple of tuple of int
        The shape of every level of the pyramid (one entry for a single image).
    channel : int or None
        The channel read from a store with a channel axis.
    channels : int
        How many channels the store has (0: no channel axis).
    name : str or None
        The image's name in the store.

    Examples
    --------
    >>> ImageMetadata.default((64, 80)).axes
    ('y', 'x')
    >>> ImageMetadata.default((64, 80)).scale
    (1.0, 1.0)
    """

    axes: tuple[str, ...]
    types: tuple[str, ...]
    scale: tuple[float, ...]
    units: tuple[str | None, ...]
    translation: tuple[float, ...]
    labels: bool = False
    level: int = 0
    levels: tuple[tuple[int, ...], ...] = ()
    channel: int | None = None
    channels: int = 0
    name: str | None = None

    def __post_init__(self) -> None:
        values = (self.axes, self.types, self.scale, self.units, self.translation)
        if {len(v) for v in values} != {len(self.axes)}:
            raise SegLabInputError(
                f"ImageMetadata needs one type, scale, unit and translation per axis; it has "
                f"{len(self.axes)} axes, {len(self.types)} types, {len(self.scale)} scales, "
                f"{len(self.units)} units and {len(self.translation)} translations."
            )

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.axes)

    @classmethod
    def default(cls, shape: tuple[int, ...], *, labels: bool = False) -> ImageMetadata:
        """Metadata for an image without any: axes named from the end (x, y, z, t), scale 1.

        Axes before a fourth are named ``axis0``, ``axis1``, ...; OME-Zarr has no room for
        them, so such an image is written as plain zarr or TIFF only.
        """
        ndim = len(shape)
        named = _DEFAULT_AXES.get(min(ndim, 4), ())
        axes = tuple(f"axis{i}" for i in range(ndim - len(named))) + named
        return cls(
            axes=axes,
            types=tuple(_TYPES.get(a, "space") for a in axes),
            scale=(1.0,) * ndim,
            units=(None,) * ndim,
            translation=(0.0,) * ndim,
            labels=labels,
            levels=(tuple(int(n) for n in shape),),
        )

    def axes_json(self) -> list[dict[str, str]]:
        """The axes as NGFF writes them (name, type and unit)."""
        return [
            {"name": a, "type": t, **({"unit": u} if u else {})}
            for a, t, u in zip(self.axes, self.types, self.units, strict=True)
        ]


def is_ome_path(path: str | Path) -> bool:
    """Whether `path` names an OME-Zarr output (it ends with ``.ome.zarr``).

    Examples
    --------
    >>> is_ome_path("brain.ome.zarr"), is_ome_path("brain.zarr")
    (True, False)
    """
    return Path(path).name.lower().endswith(OME_SUFFIX)


def _multiscales(attrs: dict) -> list | None:
    """The ``multiscales`` list of a group's attributes (NGFF 0.5 nests it under ``ome``)."""
    found = attrs.get("ome", attrs).get("multiscales")
    return found if found is not None else attrs.get("multiscales")


def is_ome_zarr(node: zarr.Group | zarr.Array) -> bool:
    """Whether a zarr node is an OME-Zarr image (a group with ``multiscales`` metadata)."""
    import zarr

    return isinstance(node, zarr.Group) and _multiscales(dict(node.attrs)) is not None


def _check_datasets(group: zarr.Group, path: Path) -> list[dict]:
    """The listed levels, each refused if it is missing or lacks a scale."""
    import zarr

    multiscales = _multiscales(dict(group.attrs))
    if not isinstance(multiscales, list) or not multiscales:
        raise SegLabInputError(
            f"{path} has OME-Zarr 'multiscales' metadata that lists no image; the store is "
            "damaged or unfinished. Write it again."
        )
    datasets = multiscales[0].get("datasets") or []
    names = [str(d.get("path")) for d in datasets if isinstance(d, dict)]
    if not names or len(names) != len(datasets):
        raise SegLabInputError(
            f"{path}: its OME-Zarr metadata lists no pyramid levels (multiscales 'datasets'); "
            "the store is damaged or unfinished. Write it again."
        )
    present = {n for n, node in group.members(max_depth=None) if isinstance(node, zarr.Array)}
    missing = [n for n in names if n not in present]
    if missing:
        raise SegLabInputError(
            f"{path}: its OME-Zarr metadata lists the levels {', '.join(names)}, but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing (the "
            f"store holds {', '.join(sorted(present)) or 'no arrays'}). The store was copied "
            "in part or is damaged: copy it again, or open one of the levels that exist."
        )
    return datasets


def _transforms(dataset: dict, ndim: int, path: Path) -> tuple[tuple, tuple]:
    """A level's scale and translation, each with one value per axis."""
    scale: list | None = None
    translation: list = [0.0] * ndim
    for item in dataset.get("coordinateTransformations") or []:
        if item.get("type") == "scale":
            scale = item.get("scale")
        elif item.get("type") == "translation":
            translation = item.get("translation")
    where = f"{path} (level {dataset.get('path')})"
    if scale is None:
        raise SegLabInputError(
            f"{where}: its OME-Zarr metadata gives the level no scale; the store is damaged."
        )
    for what, values in (("scale", scale), ("translation", translation)):
        if not isinstance(values, list) or len(values) != ndim:
            count = len(values) if isinstance(values, list) else "no"
            raise SegLabInputError(
                f"{where}: the image has {ndim} axes but its {what} has {count} values "
                f"({values}); the metadata does not match the data. Fix or rewrite the store."
            )
    return tuple(float(v) for v in scale), tuple(float(v) for v in translation)


def _axes_problem(axes: list[dict]) -> str | None:
    """What makes NGFF axes unusable (order and types as ome-zarr checks them), or None."""
    from ome_zarr.axes import Axes

    try:
        Axes(axes).validate()
    except ValueError as err:
        return str(err)
    names = [a.get("name") for a in axes]
    if len(set(names)) < len(names):
        return f"the axis names {', '.join(map(str, names))} repeat"
    types = [a.get("type") or _TYPES.get(str(a.get("name"))) for a in axes]
    if not 1 <= types.count("space") <= 3:
        return f"{types.count('space')} space axes (1 to 3 are possible)"
    return None


def _axes(node_axes: list | None, ndim: int, path: Path) -> tuple[list, list, list]:
    """Names, types and units of the axes, checked as the NGFF specification and SegLab need."""
    if not node_axes:
        raise SegLabInputError(
            f"{path} is an OME-Zarr store of a version before 0.4 (no axes metadata); "
            "SegLab reads version 0.4 and newer. Convert it, e.g. with ome-zarr or bioformats2raw."
        )
    axes = [a if isinstance(a, dict) else {"name": a} for a in node_axes]
    if len(axes) != ndim:
        raise SegLabInputError(
            f"{path}: its metadata names {len(axes)} axes "
            f"({', '.join(a.get('name', '?') for a in axes)}) but the image has {ndim} "
            "dimensions; the metadata does not match the data. Fix or rewrite the store."
        )
    names = [str(a.get("name")) for a in axes]
    types = [a.get("type") or _TYPES.get(n) for a, n in zip(axes, names, strict=True)]
    odd = [f"{n} ({t})" for n, t in zip(names, types, strict=True) if t not in _TYPES.values()]
    if odd:
        raise SegLabInputError(
            f"{path} has axes SegLab cannot use: {', '.join(odd)}. It reads time, channel and "
            "up to 3 space axes."
        )
    problem = _axes_problem(axes)
    if problem is not None:
        raise SegLabInputError(
            f"{path}: unsupported OME-Zarr axes {', '.join(names)} ({problem}). SegLab reads "
            "the NGFF order: time, channel, then up to 3 space axes."
        )
    return names, types, [a.get("unit") for a in axes]


def _pick_channel(
    data: list[da.Array], meta: ImageMetadata, channel: int | None, names: list, path: Path
) -> tuple[list[da.Array], ImageMetadata]:
    """The levels of one channel; a channel axis of one channel is dropped by itself."""
    if "channel" not in meta.types:
        if channel is not None:
            raise SegLabInputError(
                f"channel={channel}: {path} has no channel axis (its axes are "
                f"{', '.join(meta.axes)}). Leave out the channel (for an RGB image, take "
                "image[..., N])."
            )
        return data, meta
    axis = meta.types.index("channel")
    count = data[0].shape[axis]
    if channel is None and count > 1:
        names = [*names[:count], *[None] * (count - len(names))]
        shown = ", ".join(f"{i} ({n})" if n else str(i) for i, n in enumerate(names))
        raise SegLabInputError(
            f"{path} has {count} channels (axis {meta.axes[axis]!r} of its axes "
            f"{', '.join(meta.axes)}; shape {tuple(data[0].shape)}) but SegLab segments one "
            f"channel at a time: choose one with channel=N (seglab: --channel N): {shown}."
        )
    index = 0 if channel is None else channel
    if not 0 <= index < count:
        raise SegLabInputError(
            f"channel={channel}: {path} has {count} channel{'s' * (count > 1)} (0 to {count - 1})."
        )
    cut = (slice(None),) * axis + (index,)

    def drop(values: tuple) -> tuple:
        return values[:axis] + values[axis + 1 :]

    meta = replace(
        meta,
        axes=drop(meta.axes),
        types=drop(meta.types),
        scale=drop(meta.scale),
        units=drop(meta.units),
        translation=drop(meta.translation),
        levels=tuple(drop(shape) for shape in meta.levels),
        channel=index,
        channels=count,
    )
    return [level[cut] for level in data], meta


def read_ome_zarr(
    group: zarr.Group,
    path: Path,
    *,
    level: int = 0,
    channel: int | None = None,
    reader: Callable[[zarr.Array, tuple[int, ...]], da.Array] | None = None,
) -> da.Array:
    """One level (and one channel) of an OME-Zarr image, lazily, with its ``metadata``;
    ``reader(zarr array, channel axes)`` makes the level's dask array (default: ome-zarr's,
    in the store's chunks)."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Reader

    datasets = _check_datasets(group, path)
    location = parse_url(str(path), mode="r")
    # A label store without its image (as SegLab writes masks) is normal: no warning.
    quiet = logging.getLogger("ome_zarr.reader")
    was, quiet.disabled = quiet.disabled, True
    try:
        nodes = list(Reader(location)()) if location is not None else []
    finally:
        quiet.disabled = was
    node = next((n for n in nodes if n.zarr == location), None)
    if node is None or not any(isinstance(s, Multiscales) for s in node.specs):
        raise SegLabInputError(f"{path} is not an OME-Zarr image that ome-zarr can read.")
    data = list(node.data)
    ndim = data[0].ndim
    if any(d.ndim != ndim for d in data):
        raise SegLabInputError(
            f"{path}: its pyramid levels have different numbers of dimensions "
            f"({', '.join(str(d.shape) for d in data)}); the store is damaged."
        )
    names, types, units = _axes(node.metadata.get("axes"), ndim, path)
    if not 0 <= level < len(data):
        shapes = "; ".join(f"{i}: {tuple(d.shape)}" for i, d in enumerate(data))
        raise SegLabInputError(
            f"level={level}: {path} has no such pyramid level; it has "
            f"{len(data)} level{'s' * (len(data) > 1)} ({shapes}). Choose one of them "
            "(0 is full resolution)."
        )
    scale, translation = [_transforms(d, ndim, path) for d in datasets][level]
    meta = ImageMetadata(
        axes=tuple(names),
        types=tuple(types),
        scale=scale,
        units=tuple(units),
        translation=translation,
        labels=any(isinstance(s, Label) for s in node.specs),
        level=level,
        levels=tuple(tuple(int(n) for n in d.shape) for d in data),
        name=node.metadata.get("name"),
    )
    if reader is not None:
        channel_axes = tuple(i for i, t in enumerate(types) if t == "channel")
        data[level] = reader(group[datasets[level]["path"]], channel_axes)
    channel_names = list(node.metadata.get("channel_names") or [])
    data, meta = _pick_channel(data, meta, channel, channel_names, path)
    array = data[level]
    array.metadata = meta
    return array


def level_factors(shape: tuple[int, ...], meta: ImageMetadata, levels: int | None) -> list:
    """The downsampling factor of every level: 1 on every axis, then 2, 4, ... in y and x.

    The last two space axes are halved (z, time and channels are kept, as ome-zarr does).
    With `levels` None, halve until the planes fit in :data:`PYRAMID_TOP` pixels a side.

    Examples
    --------
    >>> meta = ImageMetadata.default((5, 1000, 600))
    >>> level_factors((5, 1000, 600), meta, None)
    [(1, 1, 1), (1, 2, 2), (1, 4, 4)]
    """
    space = [i for i, t in enumerate(meta.types) if t == "space"][-2:]
    most = 0
    while all(shape[i] // 2 ** (most + 1) >= 1 for i in space):
        most += 1
    if levels is None:
        wanted = 0
        while wanted < most and max(shape[i] // 2**wanted for i in space) > PYRAMID_TOP:
            wanted += 1
        levels = wanted + 1
    if not 1 <= levels <= most + 1:
        raise SegLabInputError(
            f"A pyramid of {levels} levels cannot be made of an image of shape "
            f"{tuple(shape)}: its planes halve {most} times at most, so choose 1 to "
            f"{most + 1} levels."
        )
    return [tuple(2**n if i in space else 1 for i in range(len(shape))) for n in range(levels)]


def downsample(previous: da.Array, factor: tuple[int, ...], *, labels: bool) -> da.Array:
    """The next level, lazily: nearest sample for labels (never averaged), mean for images."""
    from ome_zarr.dask_utils import downscale_nearest, local_mean

    shape = tuple(n // f for n, f in zip(previous.shape, factor, strict=True))
    if labels:  # the first of every f pixels; a last, incomplete group is left out
        return downscale_nearest(previous, factor)[tuple(slice(0, n) for n in shape)]
    return local_mean(previous, shape)


def write_ome_metadata(
    group: zarr.Group,
    meta: ImageMetadata,
    names: list[str],
    factors: list[tuple[int, ...]],
    *,
    labels: bool,
) -> None:
    """Write the NGFF 0.5 ``multiscales`` (and ``image-label``) metadata of written levels.

    A level made by taking every n-th pixel (labels) starts at the first pixel; a level of
    means over n pixels has its first pixel's centre in the middle of those n.
    """
    from ome_zarr.format import FormatV05
    from ome_zarr.writer import add_metadata, write_multiscales_metadata

    datasets = []
    for name, factor in zip(names, factors, strict=True):
        scale = [s * f for s, f in zip(meta.scale, factor, strict=True)]
        shift = [
            0.0 if labels else (f - 1) / 2 * s for s, f in zip(meta.scale, factor, strict=True)
        ]
        translation = [t + d for t, d in zip(meta.translation, shift, strict=True)]
        datasets.append(
            {
                "path": name,
                "coordinateTransformations": [
                    {"type": "scale", "scale": scale},
                    {"type": "translation", "translation": translation},
                ],
            }
        )
    fmt = FormatV05()
    write_multiscales_metadata(
        group, datasets, fmt=fmt, axes=meta.axes_json(), name=meta.name or "image"
    )
    if labels:
        add_metadata(group, {"image-label": {"version": fmt.version}}, fmt=fmt)


def check_metadata(meta: Any, shape: tuple[int, ...]) -> ImageMetadata:
    """`meta` for an output of `shape`: an :class:`ImageMetadata` with one axis per dimension."""
    if meta is None:
        return ImageMetadata.default(shape)
    if not isinstance(meta, ImageMetadata):
        raise SegLabInputError(
            f"metadata must be an ImageMetadata (e.g. open_image(...).metadata), not "
            f"{type(meta).__name__}."
        )
    if meta.ndim != len(shape):
        raise SegLabInputError(
            f"The metadata has {meta.ndim} axes ({', '.join(meta.axes)}) but the result has "
            f"{len(shape)} dimensions (shape {tuple(shape)}); give metadata of an image of "
            "the same dimensions, or none."
        )
    if "channel" in meta.types:
        raise SegLabInputError(
            "SegLab writes one channel per OME-Zarr store; the metadata has a channel axis."
        )
    problem = _axes_problem(meta.axes_json())
    if problem is not None:
        raise SegLabInputError(
            f"A result with the axes {', '.join(meta.axes)} cannot be written as OME-Zarr "
            f"({problem}); write it as .zarr or .tif instead."
        )
    return meta
