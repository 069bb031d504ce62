"""The ground floor every package may use: what reaches the user's console (`console`), errors a user
can act on (`user_errors`), credentials kept out of every line (`masking`), JAX's compile cache
(`compile_cache`). Nothing here knows a data kind, a task or a store."""
