"""The resolved design: everything a run derives from its config, computed once
(:func:`resolve`). No Brian2 here."""

from .devices import DeviceDraw, draw_devices, quantise
from .noise import NoiseDesign
from .resolved import Design, resolve
from .timestep import (DEFAULT_STEP, DEFAULT_STEP_CAP, INTEGRATOR_DESCRIPTIONS,
                       LAPLACE_STEP_CAP, TimeStep, default_step)

__all__ = ["Design", "resolve", "DeviceDraw", "draw_devices", "quantise", "NoiseDesign",
           "TimeStep", "DEFAULT_STEP", "DEFAULT_STEP_CAP", "LAPLACE_STEP_CAP", "default_step",
           "INTEGRATOR_DESCRIPTIONS"]
