-- Rows for the local rehearsal (make local ARGS="--example custom-job").
INSERT INTO stock (sku, description, quantity) VALUES
    ('A-100', 'Hex bolts M6, box of 100', 1250),
    ('A-101', 'Hex nuts M6, box of 100', 3),
    ('B-200', 'Cable ties 200 mm, bag of 500', 42),
    ('C-300', 'Safety gloves, pair', 0);
