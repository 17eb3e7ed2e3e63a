{#
  circuit-sim: what the dense crossbar's stateupdate.cpp and summed_variable.cpp share (not a
  template Brian2 asks for). The crossbar's synapses are one row-major N x M block per chip,
  synapse (c N + i) M + j from latent c K_c M + j to residual c K_c N + i
  (synapses_create_generator.cpp makes them so, without index arrays).
#}

{# Brian2's vector code with its two index loads (_ptr_..._synaptic_pre[_idx], ..._post) replaced
   by the indices that block_loop computes. #}
{% macro computed_indices(vector_code, variables, get_array_name) -%}
{%- set index = namespace(code=vector_code if vector_code is string else vector_code|join('\n')) -%}
{%- for var, local in (('_presynaptic_idx', '_crossbar_pre'), ('_postsynaptic_idx', '_crossbar_post')) -%}
{%- if var in variables -%}
{%- set index.code = index.code|replace(get_array_name(variables[var]) ~ '[_idx]', local) -%}
{%- endif -%}
{%- endfor -%}
{{ index.code }}
{%- endmacro %}

{# The loop over the blocks' rows i and columns j, the caller's body run for synapse _idx with
   _crossbar_pre and _crossbar_post set (the inner loop contiguous: vectorised). #}
{% macro block_loop(blocks) -%}
{%- set chips, chains, n, m = blocks -%}
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
            {{ caller() }}
        }
    }
{%- endmacro %}
