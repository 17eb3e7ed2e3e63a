{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{#
  circuit-sim: the state update (and run_regularly code) of the dense crossbar on
  cpp_standalone. Brian2's own stateupdate template loops over the synapses and reads each
  synapse's pre- and postsynaptic index from its int32 arrays, then gathers through them; GCC
  keeps that loop scalar. The dense crossbar's synapses are in a known order (one row-major
  N x M block per chip, synapse (c N + i) M + j from latent c K_c M + j to residual
  c K_c N + i; the kernels check it on their first call), so this template loops over the
  blocks' rows and columns and computes both indices. The statements are Brian2's, generated
  from the synaptic equation; only where the indices come from changes, and the inner loop
  reads g, s_pre and the other synaptic arrays contiguously (vectorised).
  crossbar_blocks = (chips, chains, N, M) comes from circuit_sim.circuit.crossbar.
#}
{% extends 'common_group.cpp' %}

{% block maincode %}
    {% set chips, chains, n, m = crossbar_blocks %}
    {% import '_crossbar_blocks.cpp' as blocks %}
    {% set code = blocks.computed_indices(vector_code, variables, get_array_name) %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _N = {{constant_or_scalar('N', variables['N'])}};
    if (_N != {{chips * n * m}})
    {
        fprintf(stdout, "circuit-sim dense crossbar: expected {{chips * n * m}} synapses in "
                "the state update of {{owner.name}}, found %d\n", _N);
        fflush(stdout);
        exit(3);
    }
    {% call blocks.block_loop(crossbar_blocks) %}
    {{code|autoindent}}
    {% endcall %}
{% endblock %}
