{# USES_VARIABLES { N } #}
{#
  circuit-sim: a summed variable of the dense crossbar on cpp_standalone (the column norms of
  the normalisation, norm2_pre). Brian2's template adds each synapse's value at the index it
  reads from the synapses' int32 index array; the dense crossbar has none
  (synapses_create_generator.cpp), so this one loops over the row-major blocks and computes
  the target: latent c K_c M + j for a _pre variable, residual c K_c N + i for a _post one.
  crossbar_blocks = (chips, chains, N, M) comes from circuit_sim.circuit.crossbar.
#}
{% extends 'common_group.cpp' %}

{% block maincode %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% import '_crossbar_blocks.cpp' as blocks %}
    {% set code = blocks.computed_indices(vector_code, variables, get_array_name) %}
    //// MAIN CODE ////////////
    const int _target_size = {{constant_or_scalar(_target_size_name, variables[_target_size_name])}};

    // Set all the target variable values to zero
    for (int _target_idx=0; _target_idx<_target_size; _target_idx++)
    {
        {{_target_var_array}}[_target_idx + {{_target_start}}] = 0;
    }

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% call blocks.block_loop(crossbar_blocks) %}
    {{code|autoindent}}
    {{_target_var_array}}[{{'_crossbar_pre' if _index_var.name == '_synaptic_pre' else '_crossbar_post'}}] += _synaptic_var;
    {% endcall %}
{% endblock %}
