"""Where a training meets the store: one experiment = train -> evaluate -> log -> gate (`runner`),
the checks before it starts (`preflight`), a training its timeout really stops (`isolated`), and a
model kept on disk when logging failed (`unlogged`) and logged later (`relog`)."""
