"""Student sessions and their engagement metric samples will live here.

Empty for now: the skeleton only wires the app in. Rules about sessions go in
sessions_app/services.py (session_start, session_record_samples, session_end),
called by both the DRF views and the classroom consumers.
"""
