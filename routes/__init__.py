"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import admin, api, auth, checks, hazards, home, imports, labels, patrols, photos, procedures, pwa, wells

    for module in (auth, home, wells, patrols, checks, hazards, procedures, labels, imports, photos, admin, api, pwa):
        app.register_blueprint(module.bp)
