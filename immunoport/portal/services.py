def banner_figures():
    return []
