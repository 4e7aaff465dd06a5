"""Pure domain logic: no I/O, no clocks, no databases. Everything here is a function of its arguments."""
