"""Classes, their members and roles, join codes and accommodations will live here.

Empty for now: the skeleton only wires the app in. Sessions and metric samples
belong to sessions_app, which refers to our Classroom by its string name.
"""
