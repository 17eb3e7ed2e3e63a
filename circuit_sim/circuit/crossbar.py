"""The crossbar's two products, ``i_s = G (V_u s)`` and ``i_d = G^T vr``, computed densely.

Physically the crossbar computes both products by Kirchhoff's law in one instant; the
default Brian2 path expresses them as summed variables (a scatter-add per synapse per
step). This module is the fast path (SPEC section 7): the conductances stay Brian2
synaptic state (``crossbar.g``), but the two products read them as a dense row-major
``N x M`` matrix:

* ``standalone``: two Brian2 ``Function`` objects with C++ implementations, called once per
  step from scalar code at the scheduling slots of the summed variables they replace. They
  read Brian2's own arrays (names from ``device.get_array_name``), skip inactive units
  (``s_j = 0`` columns in ``G s``; ``h'(u_j) = 0`` entries of ``G^T vr``, which the force
  never reads), and on their first call assert that the synapses are in row-major order.
* runtime (``numpy``/``cython``): two ``network_operation`` objects doing the same with
  numpy (BLAS) on live views of the same arrays.

Brian2 cannot see what these kernels read and write, so they are scheduled explicitly
(``start`` slot, orders 1 and 3, see :mod:`circuit_sim.circuit.equations`).
"""

from __future__ import annotations

import numpy as np

import brian2 as b2

from .crossbar_source import dense_kernel_cpp
from .equations import row_major_order


def add_dense_kernel(latent: b2.NeuronGroup, residual: b2.NeuronGroup, crossbar: b2.Synapses,
                     volts_per_unit: float, order_forward: int, order_backward: int,
                     standalone: bool, full_backward: bool = False) -> list:
    """Attach the dense crossbar products; return extra objects to add to the network.

    Parameters
    ----------
    latent, residual, crossbar
        The circuit's groups; ``crossbar`` must be connected in :func:`row_major_order`
        and declare ``g : siemens`` without summed variables; ``residual`` needs
        ``i_s : amp``, ``vr : volt`` and the shared dummies ``kernel_forward``,
        ``kernel_backward``; ``latent`` needs ``i_d : amp``, ``s``, ``hp``.
    volts_per_unit : float
        ``V_u`` in V (``vs = V_u s``).
    order_forward, order_backward : int
        Orders in the ``start`` slot for ``G vs`` and ``G^T vr``.
    standalone : bool
        C++ functions (cpp_standalone) or numpy network operations (runtime).
    full_backward : bool
        Compute every entry of ``G^T vr`` (LCA reads the drive of inactive units).
    """
    n, m = len(residual), len(latent)
    if not standalone:
        pre, post = row_major_order(n, m)
        if not (np.array_equal(crossbar.i[:], pre) and np.array_equal(crossbar.j[:], post)):
            raise RuntimeError("dense crossbar: expected the synapses in row-major order "
                               "(pre = k % M, post = k // M), got another order")
        g = crossbar.variables["g"].get_value()  # live view of the synaptic state
        s = latent.variables["s"].get_value()
        hp = latent.variables["hp"].get_value()
        i_d = latent.variables["i_d"].get_value()
        vr = residual.variables["vr"].get_value()
        i_s = residual.variables["i_s"].get_value()
        gm = g.reshape(n, m)

        def forward():
            np.dot(gm, s, out=i_s)
            np.multiply(i_s, volts_per_unit, out=i_s)

        def backward():
            np.dot(vr, gm, out=i_d)  # every entry (hp masks it in the force)

        return [b2.NetworkOperation(forward, clock=latent.clock, when="start", order=order_forward,
                                    name="crossbar_dense_forward"),
                b2.NetworkOperation(backward, clock=latent.clock, when="start", order=order_backward,
                                    name="crossbar_dense_backward")]

    dev = b2.get_device()
    names = {"g": dev.get_array_name(crossbar.variables["g"], access_data=False),
             "pre": dev.get_array_name(crossbar.variables["_synaptic_pre"], access_data=False),
             "post": dev.get_array_name(crossbar.variables["_synaptic_post"], access_data=False),
             "s": dev.get_array_name(latent.variables["s"]),
             "hp": dev.get_array_name(latent.variables["hp"]),
             "i_d": dev.get_array_name(latent.variables["i_d"]),
             "vr": dev.get_array_name(residual.variables["vr"]),
             "i_s": dev.get_array_name(residual.variables["i_s"])}
    code = dense_kernel_cpp(names, n, m, volts_per_unit, full_backward)
    for fname, order in (("crossbar_forward", order_forward), ("crossbar_backward", order_backward)):
        f = b2.Function(pyfunc=None, arg_units=[b2.second], return_unit=1, stateless=False)
        # each function's code object gets the whole (static, per-file) kernel source
        f.implementations.add_implementation("cpp", code, name=fname)
        residual.namespace[fname] = f
        residual.run_regularly(f"kernel_{fname[9:]} = {fname}(t)", when="start", order=order,
                               name=f"{fname}_kernel")
    return []
