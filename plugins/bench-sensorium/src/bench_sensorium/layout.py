"""The Sensorium 2023 folder layout as the competition published it (standard library only).

One folder per mouse (scan), e.g. ``dynamic29156-11-10-Video-8744edeac3b4d1ce16b680916b5267ce``::

    data/videos/<i>.npy        (H, W, T) grey levels 0-255, NaN after the trial's last frame
    data/responses/<i>.npy     (N, T) deconvolved activity; all zero where the tier is withheld
    data/behavior/<i>.npy      (2, T) pupil dilation, running speed
    data/pupil_center/<i>.npy  (2, T) horizontal, vertical eye position
    meta/trials/tiers.npy      (trials,) str: which tier each trial <i> belongs to
    meta/neurons/unit_ids.npy  (N,) and cell_motor_coordinates.npy (N, 3), ...
    meta/statistics/<var>/all/{mean,std,min,max,median}.npy

Sources read for this (never copied): the GIN archive README (pollytur/Sensorium2023Data and
pollytur/sensorium_2023_dataset), the starter kit ecker-lab/sensorium_2023 (loaders put frames
last: ``ChangeChannelsOrder((2, 0, 1))`` on videos, ``(1, 0)`` on responses, behaviour and pupil
centre; its scores skip 50 frames), the winner lRomul/sensorium (``src/data.py``,
``src/constants.py``: tiers, trial length = first NaN, the GIN URLs, the 16-frame windows every
second frame) and bryanlimy/ViV1T (``data/utils.py``: a trial's duration is the first NaN of
``video[0, 0, :]``; withheld responses are all zero; at most 300 frames).
"""

from __future__ import annotations

DATA_FIELDS = ("videos", "responses", "behavior", "pupil_center")
#: The rows of the two behaviour files, in their published order (the contract's behaviour
#: channels are these rows, ``behavior`` first).
BEHAVIOR_CHANNELS = {"behavior": "pupil dilation, running speed", "pupil_center": "horizontal, vertical"}
#: Every tier a ``tiers.npy`` may hold; "none" marks trials the competition excluded.
TIERS = ("train", "oracle", "live_test_main", "live_test_bonus", "final_test_main", "final_test_bonus", "none")
EXCLUDED_TIER = "none"

#: How the published tiers become the harness' splits (config keys of the same names override):
#: train -> train; oracle (the videos shown repeatedly, the competition's validation tier) -> val;
#: the main track's test tiers -> eval (their responses are withheld in the published files).
DEFAULT_TIERS = {
    "train_tiers": ("train",),
    "val_tiers": ("oracle",),
    "eval_tiers": ("live_test_main", "final_test_main"),
}

FRAME_RATE_HZ = 30.0
#: The competition scored each trial from frame 50 on (starter kit ``skip=50``).
SKIP_FRAMES = 50
#: Trials are at most 300 frames (10 s) long; the winner cut predictions there too.
MAX_FRAMES = 300

#: The ten mice: five of the first release (their test responses published later) and the five
#: the competition was scored on. Letters as ViV1T names them.
OLD_MICE = {
    "A": "dynamic29156-11-10-Video-8744edeac3b4d1ce16b680916b5267ce",
    "B": "dynamic29228-2-10-Video-8744edeac3b4d1ce16b680916b5267ce",
    "C": "dynamic29234-6-9-Video-8744edeac3b4d1ce16b680916b5267ce",
    "D": "dynamic29513-3-5-Video-8744edeac3b4d1ce16b680916b5267ce",
    "E": "dynamic29514-2-9-Video-8744edeac3b4d1ce16b680916b5267ce",
}
NEW_MICE = {
    "F": "dynamic29515-10-12-Video-9b4f6a1a067fe51e15306b9628efea20",
    "G": "dynamic29623-4-9-Video-9b4f6a1a067fe51e15306b9628efea20",
    "H": "dynamic29647-19-8-Video-9b4f6a1a067fe51e15306b9628efea20",
    "I": "dynamic29712-5-9-Video-9b4f6a1a067fe51e15306b9628efea20",
    "J": "dynamic29755-2-8-Video-9b4f6a1a067fe51e15306b9628efea20",
}
MICE = {**OLD_MICE, **NEW_MICE}
#: One zip per mouse, ``<mouse folder>.zip``, in one of two GIN repositories.
GIN_REPOSITORIES = {
    "old": "https://gin.g-node.org/pollytur/Sensorium2023Data/raw/master",
    "new": "https://gin.g-node.org/pollytur/sensorium_2023_dataset/raw/master",
}


def gin_repository(mouse_folder: str) -> str:
    return "old" if mouse_folder in OLD_MICE.values() else "new"


def mouse_name(name_or_letter: str) -> str:
    """The folder name of a mouse given as its folder name or its letter (A-J)."""
    return MICE.get(name_or_letter.upper(), name_or_letter) if len(name_or_letter) == 1 else name_or_letter
