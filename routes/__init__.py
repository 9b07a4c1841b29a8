"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import api, auth, home, wells

    for module in (auth, home, wells, api):
        app.register_blueprint(module.bp)
