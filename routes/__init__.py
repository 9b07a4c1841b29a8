"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import api, auth, checks, hazards, home, imports, labels, patrols, photos, pwa, wells

    for module in (auth, home, wells, patrols, checks, hazards, labels, imports, photos, api, pwa):
        app.register_blueprint(module.bp)
