"""Ground: evidence scoring, the answerability gate, claim support and citation, with their calibrated
parameters beside the code that reads them."""
