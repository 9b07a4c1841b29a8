"""One blueprint per area of the app."""


def register_blueprints(app):
    from . import activities, admin, api, assessment, handover, history, auth, cards, checks, commitments, hazards, home, imports, labels, notifications, onboarding, party, patrols, photos, plant, posts, procedures, projects, pwa, reports, review, suggestions, tags, wells

    for module in (auth, home, wells, history, patrols, review, handover, checks, hazards, procedures, cards, commitments, party, activities, labels, tags, imports, photos, admin, onboarding, plant, notifications, api, pwa, reports, suggestions, projects, posts, assessment):
        app.register_blueprint(module.bp)
