"""Sign up, sign in and sign out."""

import logging

from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

import accounts
from rate_limits import account_key, configured, failed, limiter
from blueprints.htmx import current_path, is_htmx, safe_next_path
from extensions import login_manager
from forms import SignInForm, SignUpForm

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

SIGN_IN_FAILED = "The email or password is incorrect."


# The session key that carries the id of the signed-in session (see UserSession).
SESSION_ID_KEY = "sid"


@login_manager.user_loader
def load_user(user_id):
    """Load the user only while their signed-in session is unrevoked."""
    return accounts.user_for_session(user_id, session.get(SESSION_ID_KEY))


@login_manager.unauthorized_handler
def unauthorized():
    """Send a signed-out visitor to the sign-in page, then back to where they were."""
    target = url_for("auth.signin", next=current_path())
    flash("Sign in to continue.", "info")
    if is_htmx():
        # A full page swapped into a table row helps no one: htmx loads the page instead.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(configured("SIGNUP_RATE_LIMIT"), methods=["POST"],
               error_message="Too many sign-ups from your network. Try again later.")
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("tokens.index"))

    form = SignUpForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/signup.html", form=form), status

    try:
        user = accounts.create_user(form.email.data, form.name.data, form.password.data)
    except accounts.EmailTaken:
        form.email.errors.append("An account with this email already exists. Sign in instead.")
        return render_template("auth/signup.html", form=form), 422

    _start_session(user)
    flash("Welcome! Your account is ready.", "success")
    return redirect(url_for("tokens.index"), 303)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(configured("SIGNIN_IP_RATE_LIMIT"), methods=["POST"], deduct_when=failed,
               error_message="Too many failed sign-in attempts from your network. Wait a few minutes and try again.")
@limiter.limit(configured("SIGNIN_ACCOUNT_RATE_LIMIT"), methods=["POST"], deduct_when=failed, key_func=account_key,
               error_message="Too many failed sign-in attempts for this account. Wait a few minutes and try again.")
def signin():
    next_path = safe_next_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("tokens.index"))

    form = SignInForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/signin.html", form=form, next_path=next_path), status

    user = accounts.authenticate(form.email.data, form.password.data)
    if user is None:
        log.info("Sign-in failed for an email address from %s", request.remote_addr)
        return render_template("auth/signin.html", form=form, next_path=next_path,
                               error=SIGN_IN_FAILED), 401

    _start_session(user)
    log.info("User signed in: id=%s", user.id)
    return redirect(next_path or url_for("tokens.index"), 303)


@bp.post("/signout")
@login_required
def signout():
    log.info("User signed out: id=%s", current_user.id)
    accounts.end_session(session.get(SESSION_ID_KEY))
    logout_user()
    session.clear()
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.signin"), 303)


def _start_session(user):
    # A fresh session at sign-in, with a new id, so that nothing from before carries over.
    session.clear()
    session[SESSION_ID_KEY] = accounts.start_session(user)
    login_user(user)
