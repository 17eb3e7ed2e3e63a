"""The crossbar's two products, ``i_s = G (V_u s)`` and ``i_d = G^T vr``, computed densely.

Physically the crossbar computes both products by Kirchhoff's law in one instant; the
default Brian2 path expresses them as summed variables (a scatter-add per synapse per
step). This module is the fast path (SPEC section 7): the conductances stay Brian2
synaptic state (``crossbar.g``), but the two products read them as a dense row-major
``N x M`` matrix:

* ``standalone``: two Brian2 ``Function`` objects with C++ implementations, called once per
  step from scalar code at the scheduling slots of the summed variables they replace (a
  single circuit with an ideal residual: one function doing both in one pass over ``G``). They
  read Brian2's own arrays (names from ``device.get_array_name``), skip inactive units
  (``s_j = 0`` columns in ``G s``; ``h'(u_j) = 0`` entries of ``G^T vr``, which the force
  never reads), and on their first call assert that the synapses are in row-major order.
  The crossbar's own code on standalone comes from :func:`dense_codeobject_class`'s
  templates: its synapses are made in that order without Brian2's per-synapse index
  arrays, and its plasticity equation and column norms loop over the blocks' rows and
  columns.
* runtime (``numpy``/``cython``): two ``network_operation`` objects doing the same with
  numpy (BLAS) on live views of the same arrays.

Brian2 cannot see what these kernels read and write, so they are scheduled explicitly
(``start`` slot, orders 1 and 3, see :mod:`circuit_sim.circuit.equations`).
"""

from __future__ import annotations

import numpy as np

import brian2 as b2

from .crossbar_source import (dense_kernel_cpp, ensemble_kernel_cpp, fused_kernel_cpp,
                              hebb_kernel_cpp)
from .noise_source import noise_kernel_cpp


def dense_codeobject_class(n: int, m: int, chips: int = 1, chains: int = 1) -> type:
    """The cpp_standalone code object class of a dense crossbar's own code: Brian2's, with
    three templates of ``templates/`` in place of Brian2's, for the ``chips`` row-major
    ``N x M`` blocks of :func:`.equations.ensemble_order`:

    * ``synapses_create_generator``: the connect call makes those synapses, sizes their
      variables and Brian2's per-node counts, and stores no pre-/postsynaptic index (8 B per
      synapse; the generator of the connect call is what the runtime backends run);
    * ``stateupdate`` (the plasticity equation, ``run_regularly`` operations) and
      ``summed_variable`` (the column norms): loops over the blocks' rows and columns, each
      synapse's indices computed (``c K_c M + j``, ``c K_c N + i``), a contiguous,
      vectorised loop. The statements are still Brian2's, generated from the equations.

    Every other template is Brian2's."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    templater = CPPStandaloneCodeObject.templater.derive(
        "circuit_sim.circuit", env_globals={"crossbar_blocks": (chips, chains, n, m)})
    return type("DenseCrossbarCodeObject", (CPPStandaloneCodeObject,),
                {"templater": templater, "__doc__": dense_codeobject_class.__doc__})


def add_dense_kernel(latent: b2.NeuronGroup, residual: b2.NeuronGroup, crossbar: b2.Synapses,
                     volts_per_unit: float, order_forward: int, order_backward: int,
                     standalone: bool, full_backward: bool = False, chips: int = 1,
                     chains: int = 1, dynamic_weights: bool = True,
                     fused_g_w: float | None = None) -> list:
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
    chips, chains : int
        An ensemble (:mod:`circuit_sim.design.ensemble`): ``chips`` row-major blocks of
        conductances (:func:`~.equations.ensemble_order`), each read by its chip's ``chains``
        copies; the products are then ``S G^T`` and ``VR G`` per chip, matrix-matrix products
        (:func:`_add_ensemble_kernel`).
    dynamic_weights : bool
        The conductances change during the run (an ensemble's C++ kernel then re-reads them
        every step; otherwise once).
    fused_g_w : float, optional
        ``G_w`` in S: compute both products in one pass over ``G`` at ``order_forward``
        (standalone, one circuit, an ideal residual whose group stores its input ``x_in``
        before that order; :func:`.crossbar_source.fused_kernel_cpp`).
    """
    if chips * chains > 1:
        return _add_ensemble_kernel(latent, residual, crossbar, volts_per_unit, order_forward,
                                    order_backward, standalone, chips, chains, dynamic_weights)
    n, m = len(residual), len(latent)
    if not standalone:
        _check_order(crossbar, n, m)
        g = crossbar.variables["g"].get_value()  # live view of the synaptic state
        s = latent.variables["s"].get_value()
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

    names = _array_names(latent, residual, crossbar)
    if fused_g_w is not None:
        names["x_in"] = b2.get_device().get_array_name(residual.variables["x_in"])
        code = fused_kernel_cpp(names, n, m, volts_per_unit, fused_g_w, full_backward)
        _add_kernel_functions(residual, code, (("crossbar_fused", order_forward),))
        return []
    code = dense_kernel_cpp(names, n, m, volts_per_unit, full_backward)
    _add_kernel_functions(residual, code, (("crossbar_forward", order_forward),
                                           ("crossbar_backward", order_backward)))
    return []


def _add_kernel_functions(residual, code: str, calls) -> None:
    """The C++ kernel functions ``calls`` ((name, order) pairs), each called once per step
    from the residual group's scalar code; each function's code object gets the whole
    (static, per-file) kernel source."""
    for fname, order in calls:
        f = b2.Function(pyfunc=None, arg_units=[b2.second], return_unit=1, stateless=False)
        f.implementations.add_implementation("cpp", code, name=fname,
                                             compiler_kwds={"headers": ["<cstdint>",
                                                                        "<cstring>"]})
        residual.namespace[fname] = f
        residual.run_regularly(f"kernel_{fname[9:]} = {fname}(t)", when="start", order=order,
                               name=f"{fname}_kernel")


def _check_order(crossbar, n: int, m: int, chips: int = 1, chains: int = 1) -> None:
    """Assert the synapse order the kernels read (runtime backends; the C++ kernels check the
    same on their first call): one row-major ``N x M`` block per chip, synapse ``c N M + i M +
    j`` from latent ``c K_c M + j`` to residual ``c K_c N + i``. Computed here, not taken from
    :mod:`.equations`, so that a wrong order there is caught."""
    c, r = np.divmod(np.arange(chips * n * m), n * m)
    if not (np.array_equal(crossbar.i[:], c * chains * m + r % m)
            and np.array_equal(crossbar.j[:], c * chains * n + r // m)):
        raise RuntimeError("dense crossbar: expected the synapses in row-major order (one N x M "
                           "block per chip, pre = c K_c M + k % M, post = c K_c N + (k // M) % N), "
                           "got another order")


def _array_names(latent, residual, crossbar) -> dict:
    dev = b2.get_device()
    return {"g": dev.get_array_name(crossbar.variables["g"], access_data=False),
            "pre": dev.get_array_name(crossbar.variables["_synaptic_pre"], access_data=False),
            "post": dev.get_array_name(crossbar.variables["_synaptic_post"], access_data=False),
            "s": dev.get_array_name(latent.variables["s"]),
            "hp": dev.get_array_name(latent.variables["hp"]),
            "i_d": dev.get_array_name(latent.variables["i_d"]),
            "vr": dev.get_array_name(residual.variables["vr"]),
            "i_s": dev.get_array_name(residual.variables["i_s"])}


def _add_ensemble_kernel(latent, residual, crossbar, volts_per_unit: float, order_forward: int,
                         order_backward: int, standalone: bool, chips: int, chains: int,
                         dynamic_weights: bool = True) -> list:
    """The products of an ensemble: per chip ``c``, ``I_s[c] = V_u S[c] G[c]^T`` (chains x N)
    and ``I_d[c] = VR[c] G[c]`` (chains x M), with ``G[c]`` the chip's (N, M) conductances;
    every entry of ``I_d`` is computed (the force masks it with ``h'``)."""
    q = chips * chains
    n, m = len(residual) // q, len(latent) // q
    if standalone:
        code = ensemble_kernel_cpp(_array_names(latent, residual, crossbar), n, m, chips,
                                   chains, volts_per_unit, dynamic_weights)
        _add_kernel_functions(residual, code, (("crossbar_forward", order_forward),
                                               ("crossbar_backward", order_backward)))
        return []
    _check_order(crossbar, n, m, chips, chains)
    g = crossbar.variables["g"].get_value().reshape(chips, n, m)  # live views
    gt = g.transpose(0, 2, 1)
    s = latent.variables["s"].get_value().reshape(chips, chains, m)
    i_d = latent.variables["i_d"].get_value().reshape(chips, chains, m)
    vr = residual.variables["vr"].get_value().reshape(chips, chains, n)
    i_s_flat = residual.variables["i_s"].get_value()
    i_s = i_s_flat.reshape(chips, chains, n)

    def forward():
        np.matmul(s, gt, out=i_s)
        np.multiply(i_s_flat, volts_per_unit, out=i_s_flat)

    def backward():
        np.matmul(vr, g, out=i_d)

    return [b2.NetworkOperation(forward, clock=latent.clock, when="start", order=order_forward,
                                name="crossbar_dense_forward"),
            b2.NetworkOperation(backward, clock=latent.clock, when="start",
                                order=order_backward, name="crossbar_dense_backward")]


def add_hebb_kernel(latent, residual, crossbar, volts_per_unit: float, chips: int,
                    chains: int, order: int, standalone: bool) -> list:
    """The batch-averaged Hebbian term of an ensemble whose chains share their chip's
    plasticity: per chip ``c``, ``hebb[c] = R[c]^T S[c] / K_c`` (N x M, one matrix-matrix
    product of the chains' residuals and codes, ``R = vr / V_u``), written into the synaptic
    variable ``hebb`` on the crossbar's own clock (the plasticity clock) at ``order`` of the
    ``start`` slot, after ``s`` and ``vr`` are stored and before the synapses' state update
    reads it (:func:`.equations.crossbar_equations`, ``batch=True``)."""
    q = chips * chains
    n, m = len(residual) // q, len(latent) // q
    scale = 1.0 / (volts_per_unit * chains)
    if standalone:
        dev = b2.get_device()
        names = {**_array_names(latent, residual, crossbar),
                 "hebb": dev.get_array_name(crossbar.variables["hebb"], access_data=False)}
        code = hebb_kernel_cpp(names, n, m, chips, chains, scale)
        f = b2.Function(pyfunc=None, arg_units=[b2.second], return_unit=1, stateless=False)
        f.implementations.add_implementation("cpp", code, name="crossbar_hebb",
                                             compiler_kwds={"headers": ["<cstdint>",
                                                                        "<cstring>"]})
        crossbar.namespace["crossbar_hebb"] = f
        crossbar.run_regularly("kernel_hebb = crossbar_hebb(t)", when="start", order=order,
                               name="crossbar_hebb_kernel")
        return []
    _check_order(crossbar, n, m, chips, chains)
    hebb = crossbar.variables["hebb"].get_value().reshape(chips, n, m)  # live views
    s = latent.variables["s"].get_value().reshape(chips, chains, m)
    vr = residual.variables["vr"].get_value().reshape(chips, chains, n)

    def average():
        np.matmul(vr.transpose(0, 2, 1), s, out=hebb)
        np.multiply(hebb, scale, out=hebb)

    return [b2.NetworkOperation(average, clock=crossbar.clock, when="start", order=order,
                                name="crossbar_hebb_kernel")]


def add_noise_kernel(latent, residual, integrator: str, order: int) -> None:
    """Draw every latent node's white noise (``eta_0``, and ``rprev_0`` for
    Leimkuhler-Matthews) in one C++ call per step (standalone ensembles; see
    :func:`.noise_source.noise_kernel_cpp`), seeded at run time from the residual
    group's shared ``noise_seed`` (a ``run_args`` value: the seed changes no generated code).
    Scheduled at ``order`` of the ``start`` slot, before the state update reads ``eta_0``."""
    dev = b2.get_device()
    names = {"eta": dev.get_array_name(latent.variables["eta_0"]),
             "rprev": dev.get_array_name(latent.variables["rprev_0"])}
    code = noise_kernel_cpp(names, len(latent), integrator)
    f = b2.Function(pyfunc=None, arg_units=[b2.second, b2.second, 1], return_unit=1,
                    stateless=False)
    f.implementations.add_implementation("cpp", code, name="circuit_white_noise",
                                         compiler_kwds={"headers": ["<cstdint>", "<cmath>",
                                                                    "<cstring>"]})
    residual.namespace["circuit_white_noise"] = f
    residual.run_regularly("kernel_noise = circuit_white_noise(t, dt, noise_seed)",
                           when="start", order=order, name="latent_white_noise")
