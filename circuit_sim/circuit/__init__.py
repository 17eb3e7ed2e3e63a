"""The Brian2 circuit: equation strings (pure functions, :mod:`.equations`), the network
builder (:mod:`.network`), the dense crossbar kernel (:mod:`.crossbar`), code-generation
backends and the standalone build (:mod:`.backends`), and supervised child processes
(:mod:`.supervise`). Importing this package does not import Brian2; its modules do."""
