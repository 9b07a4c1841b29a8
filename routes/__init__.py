"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import api, auth, home, imports, labels, patrols, pwa, wells

    for module in (auth, home, wells, patrols, labels, imports, api, pwa):
        app.register_blueprint(module.bp)
