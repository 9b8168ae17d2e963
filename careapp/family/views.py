from flask import Blueprint

bp = Blueprint("family", __name__)
