"""Quality evals: tasks (data + prompt + scorer), the code sandbox, and the eval runner."""
