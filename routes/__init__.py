"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import admin, api, handover, history, auth, cards, checks, commitments, hazards, home, imports, labels, party, patrols, photos, procedures, pwa, reports, review, wells

    for module in (auth, home, wells, history, patrols, review, handover, checks, hazards, procedures, cards, commitments, party, labels, imports, photos, admin, api, pwa, reports):
        app.register_blueprint(module.bp)
