"""immunoport: a self-hostable immunology data repository and portal compatible with ImmPort."""
