"""`runserver` with a development server that reads chunked request bodies (osmosproject.devhttp)."""

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver

from osmosproject.devhttp import WSGIServer


class Command(StaticRunserver):
    server_cls = WSGIServer
