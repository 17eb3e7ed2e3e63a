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
    {% set chips, chains, n, m = crossbar_blocks %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set index = namespace(code=vector_code if vector_code is string else vector_code|join('\n')) %}
    {% for var, local in (('_presynaptic_idx', '_crossbar_pre'), ('_postsynaptic_idx', '_crossbar_post')) %}
    {% if var in variables %}
    {% set index.code = index.code|replace(get_array_name(variables[var]) ~ '[_idx]', local) %}
    {% endif %}
    {% endfor %}
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

    for(int _c=0; _c<{{chips}}; _c++)
    for(int _i=0; _i<{{n}}; _i++)
    {
        const int32_t _crossbar_post = _c * {{chains * n}} + _i;
        const int32_t _pre_0 = _c * {{chains * m}};
        const int _row = (_c * {{n}} + _i) * {{m}};
        for(int _j=0; _j<{{m}}; _j++)
        {
            const int _idx = _row + _j;
            const int32_t _crossbar_pre = _pre_0 + _j;
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{index.code|autoindent}}
            {{_target_var_array}}[{{'_crossbar_pre' if _index_var.name == '_synaptic_pre' else '_crossbar_post'}}] += _synaptic_var;
        }
    }
{% endblock %}
