"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import api, auth, home, imports, labels, patrols, photos, pwa, wells

    for module in (auth, home, wells, patrols, labels, imports, photos, api, pwa):
        app.register_blueprint(module.bp)
