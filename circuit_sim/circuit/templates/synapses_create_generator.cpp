{# USES_VARIABLES { _synaptic_pre, _synaptic_post, rand,
                    N_incoming, N_outgoing, N,
                    N_pre, N_post, _source_offset, _target_offset } #}

{# WRITES_TO_READ_ONLY_VARIABLES { _synaptic_pre, _synaptic_post,
                                   N_incoming, N_outgoing, N}
#}
{#
  circuit-sim: the dense crossbar's synapses on cpp_standalone, created without Brian2's
  per-synapse index arrays. Brian2's template runs the connect call's generator and pushes
  each synapse's pre- and postsynaptic index into two int32 vectors (8 bytes per synapse,
  grown by doubling: at (1024, 2048) more memory than the rest of the program beyond the
  weights). The dense crossbar's synapses are fixed by its design (the generator of
  circuit_sim.circuit.equations.ensemble_generator, whose order the runtime backends check):
  one row-major N x M block per chip, synapse (c N + i) M + j from latent c K_c M + j to
  residual c K_c N + i. This template makes that many synapses, sizes their variables and
  the per-neuron synapse counts, and leaves the two index vectors empty; the crossbar's own
  code computes the indices (templates/stateupdate.cpp, summed_variable.cpp) and the kernels
  read the conductances as the dense matrix they are.
  crossbar_blocks = (chips, chains, N, M) comes from circuit_sim.circuit.crossbar.
#}
{% extends 'common_synapses.cpp' %}

{% block maincode %}
    {% set chips, chains, n, m = crossbar_blocks %}
    const size_t _N_pre = {{constant_or_scalar('N_pre', variables['N_pre'])}};
    const size_t _N_post = {{constant_or_scalar('N_post', variables['N_post'])}};
    if (_N_pre != {{chips * chains * m}} || _N_post != {{chips * chains * n}})
    {
        fprintf(stdout, "circuit-sim dense crossbar: expected {{chips * chains * m}} latent and "
                "{{chips * chains * n}} residual nodes, found %ld and %ld\n", (long)_N_pre,
                (long)_N_post);
        fflush(stdout);
        exit(3);
    }
    {{_dynamic_N_incoming}}.assign(_N_post + _target_offset, 0);
    {{_dynamic_N_outgoing}}.assign(_N_pre + _source_offset, 0);
    for (int _c = 0; _c < {{chips}}; _c++)
    {
        for (int _j = 0; _j < {{m}}; _j++)
            {{_dynamic_N_outgoing}}[_source_offset + _c * {{chains * m}} + _j] = {{n}};
        for (int _i = 0; _i < {{n}}; _i++)
            {{_dynamic_N_incoming}}[_target_offset + _c * {{chains * n}} + _i] = {{m}};
    }
    const int32_t newsize = {{chips * n * m}};
    {% for varname in owner._registered_variables | variables_to_array_names(access_data=False) | sort %}
    {% if varname != _dynamic__synaptic_pre and varname != _dynamic__synaptic_post %}
    {{varname}}.resize(newsize);
    {% endif %}
    {% endfor %}
    {{N}} = newsize;
{% endblock %}
